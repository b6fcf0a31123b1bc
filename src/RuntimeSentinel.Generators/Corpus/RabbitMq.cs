using static RuntimeSentinel.Generators.Corpus.SensorJson;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// RabbitMQ (StatefulSet): the Erlang VM (beam.smp) with epmd and erl_child_setup; persistent messages go to the
/// message store; the chart's exec probe (every minute) runs <c>rabbitmq-diagnostics -q ping</c>, a second Erlang VM that asks epmd
/// (4369) and the node's distribution port (25672) over loopback.
/// </summary>
internal sealed class RabbitMq : Archetype
{
    private const string Erts = "/usr/local/lib/erlang/erts-14.2.5/bin";

    public override string Key => "rabbitmq";

    public override string Summary => "RabbitMQ broker StatefulSet (beam.smp, epmd, message store writes, exec probe rabbitmq-diagnostics: a second Erlang VM talking to epmd and the node)";

    public override string Kind => "StatefulSet";

    public override IReadOnlyList<string> Names => ["rabbitmq"];

    public override IReadOnlyList<string> Namespaces => ["messaging", "data", "queue"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => "docker.io/library/rabbitmq:3.13.7-management";

    public override int Port => 5672;

    public override IReadOnlyList<string> Offers => ["broker"];

    public override bool Meshable => false;

    public override int MetricsPort => 15692;

    public override (int Min, int Max) Replicas => (1, 1);

    public override int ProbeUid => 999;

    public override string ConfigMount(string name) => "/etc/rabbitmq/conf.d";

    public override string ConfigFile => "10-defaults.conf";

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var server = w.Spawn(pod, "/bin/sh", "/opt/rabbitmq/sbin/rabbitmq-server", at, null, 999, "/var/lib/rabbitmq");
        var beam = w.Replace(server, $"{Erts}/beam.smp", $"-W w -MBas ageffcbf -MHas ageffcbf -MBlmbcs 512 -MHlmbcs 512 -MMmcs 30 -pc unicode -P 1048576 -t 5000000 -stbt db -zdbbl 128000 -sbwt none -sbwtdcpu none -sbwtdio none -B i -- -root /usr/local/lib/erlang -bindir {Erts} -progname erl -- -home /var/lib/rabbitmq -- -pa  -noshell -noinput -s rabbit boot -boot start_sasl", at.AddMilliseconds(300));
        var setup = w.Spawn(pod, $"{Erts}/erl_child_setup", "1048576", at.AddMilliseconds(330), beam, 999, "/var/lib/rabbitmq");
        var epmd = w.Spawn(pod, $"{Erts}/epmd", "-daemon", at.AddMilliseconds(340), setup, 999, "/");
        var gethost = w.Spawn(pod, $"{Erts}/inet_gethost", "4", at.AddMilliseconds(360), setup, 999, "/");
        pod.Processes.AddRange([beam, setup, epmd, gethost]);
        if (seen)
        {
            w.Exec(server);
            w.Exec(beam);
            w.Exec(setup);
            w.Exec(epmd);
            w.Exec(gethost);
            var t = ReadAll(w, beam, at.AddMilliseconds(400), ["/var/lib/rabbitmq/.erlang.cookie", "/etc/rabbitmq/rabbitmq.conf", "/etc/rabbitmq/enabled_plugins"]);
            ReadConfig(w, d, beam, t);
        }
    }

    public override DateTimeOffset Handle(ClusterWorld w, Deployed d, CorpusPod pod, Proc app, long request, DateTimeOffset t, int depth)
    {
        if (request > 400 && w.R.NextDouble() < 0.5)
        {
            // A persistent message: appended to the vhost's message store.
            w.File(app, t.AddMilliseconds(1), $"/var/lib/rabbitmq/mnesia/rabbit@{pod.Name}/msg_stores/vhosts/628WB79CIFDYO9LJI6DKMI09L/msg_store_persistent/{(t - w.Start).Minutes / 20}.rdq", true);
        }

        return t.AddTicks(3_000 + w.R.Next(0, 8_000));
    }

    public override long Response(ClusterWorld w) => 30 + w.R.Next(0, 200);

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
        if (!Every(pod, s, 60, 2))
        {
            return;
        }

        // The exec probe: a shell, the diagnostics script, and a second Erlang VM that asks epmd and the node.
        var at = w.Jitter(t);
        var vm = w.Kubelet.RunIn(pod, ["/bin/sh -c rabbitmq-diagnostics -q ping", "/bin/sh /opt/rabbitmq/sbin/rabbitmq-diagnostics -q ping", $"{Erts}/beam.smp -B -- -root /usr/local/lib/erlang -bindir {Erts} -progname erl -- -home /var/lib/rabbitmq -- -boot no_dot_erlang -sname rabbitmqcli-{w.R.Next(100, 999)}-rabbit@{pod.Name} -s elixir start_cli -noshell -noinput"], at, 999, 2_600);
        foreach (var (port, server) in new[] { (4369, pod.Processes[2]), (25672, pod.Main) })
        {
            var conn = new Sock("tcp", "127.0.0.1", pod.EphemeralPort(), "127.0.0.1", port, "TCP_SYN_SENT");
            var c = vm.Start.AddMilliseconds(900 + (port % 7));
            w.Tetragon(c, Kprobe(vm, pod.Node.Name, c, "tcp_connect", "network-observability", SockArgs(conn)));
            var accepted = new Sock("tcp", "127.0.0.1", port, "127.0.0.1", conn.Sport, "TCP_ESTABLISHED");
            w.Tetragon(c.AddTicks(2_000), Kprobe(server, pod.Node.Name, c.AddTicks(2_000), "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", port, "0.0.0.0", 0, "TCP_LISTEN")), accepted));
            w.Net.Send(vm, conn, 34, c.AddTicks(5_000));
            w.Net.Send(server, accepted, 60, c.AddTicks(9_000));
        }
    }
}
