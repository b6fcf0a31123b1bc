using static RuntimeSentinel.Generators.Corpus.SensorJson;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// What the node agent does to containers, as the sensors see it: liveness and readiness probes (HTTP from the node's
/// address, TCP connects, commands run through <c>runc exec</c>), the atomic writer that refreshes projected tokens
/// (about every 48 minutes: 80% of the default 3607 s lifetime) and ConfigMap volumes (on update) by writing a new
/// <c>..&lt;timestamp&gt;</c> directory and swapping the <c>..data</c> link, the Istio init container, and Tetragon's
/// procFS inventory of what was already running when the sensor started.
/// </summary>
internal sealed class Kubelet(ClusterWorld w)
{
    /// <summary>Tokens are rotated at 80% of their lifetime (kubelet), the default lifetime being 3607 s.</summary>
    public static readonly TimeSpan TokenRefresh = TimeSpan.FromSeconds(3607 * 0.8);

    public void Tick(Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
        var rt = w.Runtime(pod);
        if (t - rt.TokenIssued >= TokenRefresh)
        {
            // The kubelet's volume manager notices within its sync period; the next read goes to the new directory.
            rt.TokenIssued = t;
            rt.TokenDir = w.AtomicDir(t);
            if (t >= w.LearningEnds && (d.A.ApiClient || d.Sidecar == "istio-proxy"))
            {
                w.Label(new CorpusLabel($"token-refresh-{pod.Name}-{(int)(t - w.Start).TotalMinutes}", "churn-token-refresh", d.Id, [pod.Name], t, t.AddMinutes(3), "the kubelet refreshes the projected service-account token: the next read goes through ..data to a new timestamped directory"));
            }
        }

        if (d.A.Probe is { } probe && Archetype.Every(pod, s, probe.Period))
        {
            Probe(d, pod, probe, w.Jitter(t, 900));
        }

        if (rt.Sidecar is { Alive: true } sc && sc.ContainerName is "istio-proxy" or "envoy" && Archetype.Every(pod, s, 30, 7))
        {
            // The proxy's own readiness: GET :15021/healthz/ready.
            w.Net.Inbound(sc, sc.Processes[0], 15021, pod.Node.Ip, w.Jitter(t, 900), 150);
        }
    }

    public void Probe(Deployed d, CorpusPod pod, ProbeSpec probe, DateTimeOffset t)
    {
        switch (probe.Kind)
        {
            case "http" when d.Sidecar == "istio-proxy" && w.Runtime(pod).Sidecar is { Processes.Count: > 0 } sc:
                // Istio rewrites HTTP probes to pilot-agent (:15020/app-health/...), which asks the app itself.
                w.Net.Inbound(sc, sc.Processes[0], 15020, pod.Node.Ip, t, 160);
                var agentConn = new Sock("tcp", "127.0.0.6", pod.EphemeralPort(), pod.Ip, probe.Port, "TCP_SYN_SENT");
                w.Tetragon(t.AddMilliseconds(1), Kprobe(sc.Processes[0], pod.Node.Name, t.AddMilliseconds(1), "tcp_connect", "network-observability", SockArgs(agentConn)));
                w.Net.Inbound(pod, d.A.Server(w, d, pod), probe.Port, "127.0.0.6", t.AddMilliseconds(1), 140);
                break;
            case "http":
                w.Net.Inbound(pod, d.A.Server(w, d, pod), probe.Port, pod.Node.Ip, t, 120 + w.R.Next(0, 90));
                break;
            case "tcp":
                // A TCP probe connects and closes: the server accepts and reads nothing.
                var conn = new Sock("tcp", pod.Ip, probe.Port, pod.Node.Ip, 32768 + w.R.Next(0, 28000), "TCP_ESTABLISHED");
                var listener = d.A.Server(w, d, pod);
                w.Tetragon(t, Kprobe(listener, pod.Node.Name, t, "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", probe.Port, "0.0.0.0", 0, "TCP_LISTEN")), conn));
                w.Tetragon(t.AddMilliseconds(1), Kprobe(listener, pod.Node.Name, t.AddMilliseconds(1), "tcp_close", "network-observability", SockArgs(conn)));
                break;
            default:
                var client = RunIn(pod, probe.Command, t, d.A.ProbeUid, 60 + w.R.Next(0, 200));
                if (probe.Port > 0)
                {
                    var at = client.Start.AddMilliseconds(8);
                    var local = new Sock("tcp", "127.0.0.1", pod.EphemeralPort(), "127.0.0.1", probe.Port, "TCP_SYN_SENT");
                    var server = d.A.Server(w, d, pod);
                    w.Tetragon(at, Kprobe(client, pod.Node.Name, at, "tcp_connect", "network-observability", SockArgs(local)));
                    var accepted = new Sock("tcp", "127.0.0.1", probe.Port, "127.0.0.1", local.Sport, "TCP_ESTABLISHED");
                    w.Tetragon(at.AddTicks(2_000), Kprobe(server, pod.Node.Name, at.AddTicks(2_000), "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", probe.Port, "0.0.0.0", 0, "TCP_LISTEN")), accepted));
                    w.Net.Send(client, local, 40, at.AddTicks(5_000));
                    w.Net.Send(server, accepted, 60, at.AddTicks(9_000));
                    w.Tetragon(at.AddMilliseconds(3), Kprobe(client, pod.Node.Name, at.AddMilliseconds(3), "tcp_close", "network-observability", SockArgs(local with { State = "TCP_ESTABLISHED" })));
                }

                break;
        }
    }

    /// <summary>runc's <c>exec</c>: the process it starts in the container has runc as its parent (a host process).</summary>
    public Proc Runc(CorpusPod pod, DateTimeOffset t)
    {
        var pid = w.NextPid(pod.Node);
        return new Proc { Pid = pid, Binary = "/usr/bin/runc", Args = $"--root /run/containerd/runc/k8s.io --log /run/containerd/io.containerd.runtime.v2.task/k8s.io/{pod.ContainerId[13..]}/log.json --log-format json exec --process /tmp/runc-process{w.R.Next(100_000_000, 999_999_999)} --detach --pid-file /run/containerd/io.containerd.runtime.v2.task/k8s.io/{pod.ContainerId[13..]}/{w.Hex(16)}.pid {pod.ContainerId[13..]}", Start = t, ExecId = ExecId(pod.Node.Name, t, pid), Parent = w.Runtime(pod).Shim };
    }

    /// <summary>
    /// A command run in a container through runc (exec probe, <c>kubectl exec</c>): the first line is the program
    /// runc starts; the rest are programs it runs in turn, each a child of the first. Returns the last one started.
    /// </summary>
    public Proc RunIn(CorpusPod pod, IReadOnlyList<string> command, DateTimeOffset t, int uid, int durationMs)
    {
        var runc = Runc(pod, t);
        var (bin, args) = Split(command[0]);
        var pid = w.NextPid(pod.Node);
        var start = t.AddMilliseconds(2);
        var first = new Proc { Pid = pid, ContainerPid = pod.NextContainerPid++, Binary = bin, Args = args, Start = start, ExecId = ExecId(pod.Node.Name, start, pid), Parent = runc, Pod = pod, Uid = uid };
        w.Exec(first);
        var at = first.Start.AddMilliseconds(3);
        var last = first;
        foreach (var line in command.Skip(1))
        {
            var (b, a) = Split(line);
            var child = w.Spawn(pod, b, a, at, first, uid);
            w.Exec(child);
            last = child;
            var took = Math.Max(5, durationMs / Math.Max(1, command.Count - 1));
            w.Exit(child, at.AddMilliseconds(took));
            at = at.AddMilliseconds(took + 1);
        }

        w.Exit(first, first.Start.AddMilliseconds(Math.Max(durationMs, (at - first.Start).TotalMilliseconds + 1)));
        return last;
    }

    /// <summary>An interactive <c>kubectl exec</c>: the program runc starts, left running for its user's commands.</summary>
    public Proc Session(CorpusPod pod, string binary, string args, DateTimeOffset t, int uid)
    {
        var runc = Runc(pod, t);
        var pid = w.NextPid(pod.Node);
        var start = t.AddMilliseconds(3);
        var p = new Proc { Pid = pid, ContainerPid = pod.NextContainerPid++, Binary = binary, Args = args, Start = start, ExecId = ExecId(pod.Node.Name, start, pid), Parent = runc, Pod = pod, Uid = uid };
        w.Exec(p);
        return p;
    }

    public static (string Binary, string Args) Split(string line)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        return space < 0 ? (line, "") : (line[..space], line[(space + 1)..]);
    }

    /// <summary>Istio's init container: istio-iptables sets up the redirection (iptables-restore, twice), then exits.</summary>
    public void IstioInit(CorpusPod pod, DateTimeOffset t)
    {
        var init = w.Container(pod, "istio-init", Sidecars.Image("istio-proxy"), Sidecars.Digest("istio-proxy"), t);
        var agent = w.Spawn(init, "/usr/local/bin/pilot-agent", "istio-iptables -p 15001 -z 15006 -u 1337 -m REDIRECT -i * -x  -b * -d 15090,15021,15020 --log_output_level=default:info", t, null, 0);
        init.Processes.Add(agent);
        w.Exec(agent);
        var at = t.AddMilliseconds(20);
        foreach (var (bin, args) in new[] { ("/usr/sbin/iptables-save", ""), ("/usr/sbin/iptables-restore", "--noflush"), ("/usr/sbin/ip6tables-save", ""), ("/usr/sbin/ip6tables-restore", "--noflush") })
        {
            var p = w.Spawn(init, bin, args, at, agent, 0);
            w.Exec(p);
            w.Exit(p, at.AddMilliseconds(12));
            at = at.AddMilliseconds(15);
        }

        w.Exit(agent, at.AddMilliseconds(5));
        init.Alive = false;
    }

    /// <summary>Tetragon's procFS scan at sensor start: every process already running, stamped with its real start.</summary>
    public void Inventory(DateTimeOffset start)
    {
        foreach (var d in w.Workloads)
        {
            foreach (var pod in d.Running)
            {
                foreach (var c in w.Runtime(pod).Others.Where(o => o.Alive).Prepend(pod))
                {
                    foreach (var p in c.Processes)
                    {
                        var scanned = new Proc { Pid = p.Pid, ContainerPid = p.ContainerPid, Binary = p.Binary, Args = p.Args, Start = p.Start, ExecId = p.ExecId, Parent = p.Parent, Pod = c, Uid = p.Uid, Cwd = p.Cwd, Flags = "procFS auid rootcwd" };
                        w.Emit(start.AddMilliseconds(w.R.Next(0, 800)), "tetragon", Exec(scanned, c.Node.Name, p.Start));
                    }
                }
            }
        }
    }
}
