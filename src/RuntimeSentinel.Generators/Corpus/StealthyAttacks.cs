namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// Stealthy attacks: the same processes, files and peers the workload always has, only a rate, a volume, a time or
/// the direction of a connection changes.
/// </summary>
internal sealed class StealthyAttacks(ClusterWorld w, ClusterAttacks a)
{
    public List<AttackPlan> Pool =>
    [
        new("rate-known-service", true, 3, () => Pairs.Count > 0, RateKnownService),
        new("volume-to-known-client", true, 2, () => Pairs.Count > 0, VolumeToKnownClient),
        new("slow-scan-known-peers", true, 7, () => Pairs.Count > 0, SlowScan),
        new("credential-stuffing-ingress", true, 3, () => w.Public.Count > 0, CredentialStuffing),
        new("db-dump-odd-hour", true, 1, () => w.Workloads.Any(d => d.A.Key == "cronjob" && d.W.Name == "db-backup" && Archetype.Use(d, "sql|doc")?.Service is not null), DumpOddHour),
        new("gradual-exfil-usual-sink", true, 12, () => Sinks.Count > 0, GradualExfil),
        new("admin-tool-odd-time", true, 1, () => a.With("redis", "mysql", "mongodb", "rabbitmq").Count > 0, AdminToolOddTime),
        new("peer-direction-reversal", true, 2, () => Pairs.Any(p => p.Server.A.Port > 0 && p.Client.A.Port > 0), DirectionReversal),
        new("beacon-known-saas", true, 12, () => Saas.Count > 0, Beacon),
    ];

    /// <summary>Known in-cluster client/server pairs (a workload and a peer it calls through its Service).</summary>
    private List<(Deployed Client, Deployed Server)> Pairs =>
        w.Workloads.Where(d => d.W.Kind == "Deployment" && d.Running.Any() && d.A.Offers.Contains("http"))
            .SelectMany(d => d.Peers.Where(p => p.Key != "owner" && p.Value.Service is { } s && s.Running.Any()).Select(p => (d, p.Value.Service!))).ToList();

    private List<(Deployed D, Peer Sink)> Sinks =>
        w.Workloads.Where(d => d.W.Kind is "Deployment" or "DaemonSet" && d.Running.Any())
            .SelectMany(d => new[] { "objectstore", "logsink" }.Select(r => (d, Archetype.Use(d, r))).Where(x => x.Item2 is { External: true }).Select(x => (x.d, x.Item2!))).ToList();

    private List<(Deployed D, Peer Saas)> Saas =>
        w.Workloads.Where(d => d.W.Kind == "Deployment" && d.Running.Any() && Archetype.Use(d, "saas") is { External: true }).Select(d => (d, Archetype.Use(d, "saas")!)).ToList();

    private void RateKnownService(DateTimeOffset t)
    {
        var (client, server) = a.Choose(Pairs, p => p.Client);
        var pod = a.PodOf(client);
        var factor = 20 + w.R.Next(0, 31);
        // The compromised client asks factor times as often as this pair's usual rate (measured so far), for up to
        // 2.5 minutes (shorter for a busy pair: about 800 requests at most).
        var perSecond = factor * Math.Max(0.01, w.Net.UsualRate(client, server, t));
        var seconds = (int)Math.Clamp(800 / perSecond, 30, 150);
        var end = t;
        for (var s = 0; s < seconds; s++)
        {
            for (var i = 0; i < w.Poisson(perSecond); i++)
            {
                end = t.AddSeconds(s).AddMilliseconds(w.R.Next(0, 1000));
                w.Net.Call(pod, client.A.Worker(w, client, pod), server, end, 300 + w.R.Next(0, 300), server.A.Response(w), 0.001);
            }
        }

        a.Label("rate-known-service", true, client, [pod], t, end, $"{client.W.Name} asks its usual peer {server.W.Name} about {factor} times as often as it does (enumeration through a compromised client)", server);
    }

    private void VolumeToKnownClient(DateTimeOffset t)
    {
        var (client, server) = a.Choose(Pairs, p => p.Client);
        var pod = a.PodOf(client);
        var factor = 20 + w.R.Next(0, 31);
        var end = t;
        // At the pair's usual pace (at least a few requests), only the answers are factor times larger.
        var calls = Math.Clamp((int)(w.Net.UsualRate(client, server, t) * 120), 4, 60);
        for (var i = 0; i < calls; i++)
        {
            end = t.AddMilliseconds(i * 120_000.0 / calls).AddMilliseconds(w.R.Next(0, 900));
            w.Net.Call(pod, client.A.Worker(w, client, pod), server, end, 400, server.A.Response(w) * factor, 0.001);
        }

        a.Label("volume-to-known-client", true, server, server.Running, t, end.AddSeconds(1), $"{server.W.Name} answers its usual client {client.W.Name} with about {factor} times its usual bytes (data pulled out through an existing query path)", client);
    }

    private void SlowScan(DateTimeOffset t)
    {
        var (client, _) = a.Choose(Pairs, p => p.Client);
        var pod = a.PodOf(client);
        var proc = client.A.Worker(w, client, pod);
        var targets = client.Peers.Values.Select(p => p.Service).OfType<Deployed>().SelectMany(s => s.Running).Select(p => p.Ip).Distinct().ToList();
        var ports = new[] { 22, 2375, 2379, 3306, 5432, 6379, 8443, 9200, 10250, 27017, 15000, 9090 };
        var end = t;
        var at = t;
        for (var i = 0; i < 30; i++)
        {
            end = at;
            w.Net.Failed(pod, proc, w.Pick(targets), ports[i % ports.Length], at, 1);
            at = at.AddSeconds(8 + w.R.Next(0, 12));
        }

        a.Label("slow-scan-known-peers", true, client, [pod], t, end.AddSeconds(1), $"{client.W.Name} probes the addresses of its own peers on ports they do not serve, one every 8-20 s");
    }

    private void CredentialStuffing(DateTimeOffset t)
    {
        var ingress = w.Find("ingress-nginx");
        var front = ingress ?? w.Public[0];
        var target = w.Public[0];
        var end = t;
        // 20-40 times the visitors this entry usually sees.
        var factor = 20 + w.R.Next(0, 21);
        var usual = w.Visits * (ingress is null ? 1.0 / w.Public.Count : 1.0);
        var seconds = (int)Math.Clamp(400 / (factor * usual), 30, 180);
        for (var s = 0; s < seconds; s++)
        {
            for (var i = 0; i < w.Poisson(factor * usual * w.Load(t.AddSeconds(s))); i++)
            {
                var pods = front.Running.ToList();
                end = t.AddSeconds(s).AddMilliseconds(w.R.Next(0, 1000));
                // A botnet: every attempt from another residential address.
                var ip = $"{w.R.Next(24, 200)}.{w.R.Next(0, 256)}.{w.R.Next(0, 256)}.{w.R.Next(1, 255)}";
                w.Net.Visit(front, w.Pick(pods), ip, 49152 + w.R.Next(0, 16_384), 1, end);
            }
        }

        a.Label("credential-stuffing-ingress", true, front, front.Running, t, end, $"a credential-stuffing burst: POST /login from a botnet's addresses through the usual entry, {factor} times the usual rate of visits", [.. target.Peers.Values.Select(p => p.Service).OfType<Deployed>().Prepend(target).Where(x => x != front)]);
    }

    private void DumpOddHour(DateTimeOffset t)
    {
        var d = w.Workloads.First(x => x.A.Key == "cronjob" && x.W.Name == "db-backup");
        // kubectl create job --from=cronjob/db-backup: owned by the CronJob, the same workload, at a minute it never runs, 10 times the volume.
        var minute = (int)(t - w.Start).TotalMinutes;
        if (minute % d.Every == d.Offset % d.Every)
        {
            t = t.AddSeconds(30);
        }

        var (pod, end) = CronTask.Run(w, d, t, 10);
        a.Label("db-dump-odd-hour", true, d, [pod], t, end, "the backup job run by hand at a minute it is never scheduled, dumping ten times its usual volume to its usual bucket", Archetype.Use(d, "sql|doc")!.Service!);
    }

    private void GradualExfil(DateTimeOffset t)
    {
        var (d, sink) = a.Choose(Sinks, x => x.D);
        var pod = a.PodOf(d);
        var proc = d.A.Worker(w, d, pod);
        var end = t;
        for (var i = 0; i < 36; i++)
        {
            end = t.AddSeconds(i * 20).AddMilliseconds(w.R.Next(0, 2_000));
            w.Net.External(pod, proc, sink, end, 150_000 + (i * 110_000));
        }

        a.Label("gradual-exfil-usual-sink", true, d, [pod], t, end.AddSeconds(1), $"{d.W.Name} sends its usual {sink.Host} more and more, up to 4 MB every 20 s for 12 minutes");
    }

    private void AdminToolOddTime(DateTimeOffset t)
    {
        var d = a.Choose(a.With("redis", "mysql", "mongodb", "rabbitmq"));
        var pod = a.PodOf(d);
        // The probe's own tool, run by a person through kubectl exec with a bigger question.
        var (tool, args) = d.A.Key switch
        {
            "redis" => ("/usr/local/bin/redis-cli", "-h localhost -p 6379 --scan --pattern session:*"),
            "mysql" => ("/usr/bin/mysqladmin", "processlist -uroot -p*********"),
            "mongodb" => ("/usr/bin/mongosh", "--quiet --eval db.getSiblingDB('app').users.find()"),
            _ => ("/bin/sh", "/opt/rabbitmq/sbin/rabbitmqctl list_queues name messages"),
        };
        var p = w.Kubelet.Session(pod, tool, args, t, d.A.ProbeUid);
        if (d.A.Key is "redis" or "mongodb")
        {
            var port = d.A.Port;
            var conn = new SensorJson.Sock("tcp", "127.0.0.1", pod.EphemeralPort(), "127.0.0.1", port, "TCP_SYN_SENT");
            w.Tetragon(t.AddMilliseconds(20), SensorJson.Kprobe(p, pod.Node.Name, t.AddMilliseconds(20), "tcp_connect", "network-observability", SensorJson.SockArgs(conn)));
            var accepted = new SensorJson.Sock("tcp", "127.0.0.1", port, "127.0.0.1", conn.Sport, "TCP_ESTABLISHED");
            var server = d.A.Server(w, d, pod);
            w.Tetragon(t.AddMilliseconds(21), SensorJson.Kprobe(server, pod.Node.Name, t.AddMilliseconds(21), "inet_csk_accept", "network-observability", SensorJson.SockArgs(new SensorJson.Sock("tcp", "0.0.0.0", port, "0.0.0.0", 0, "TCP_LISTEN")), accepted));
            w.Net.Send(p, conn, 400, t.AddMilliseconds(22));
            w.Net.Send(server, accepted, 2_400_000, t.AddMilliseconds(25));
        }

        w.Exit(p, t.AddSeconds(4));
        a.Label("admin-tool-odd-time", true, d, [pod], t, t.AddSeconds(5), $"the database's own admin tool ({Path.GetFileName(tool)}, which its probe runs all day) run by hand at a time nobody does, reading everything");
    }

    private void DirectionReversal(DateTimeOffset t)
    {
        var (client, server) = a.Choose(Pairs.Where(p => p.Server.A.Port > 0 && p.Client.A.Port > 0).ToList(), p => p.Server);
        var from = a.PodOf(server);
        var to = a.PodOf(client);
        var proc = server.A.Server(w, server, from);
        var end = t;
        for (var i = 0; i < 8; i++)
        {
            end = t.AddSeconds(i * 12);
            var conn = new SensorJson.Sock("tcp", from.Ip, from.EphemeralPort(), to.Ip, client.A.Port, "TCP_SYN_SENT");
            w.Tetragon(end, SensorJson.Kprobe(proc, from.Node.Name, end, "tcp_connect", "network-observability", SensorJson.SockArgs(conn)));
            var accepted = new SensorJson.Sock("tcp", to.Ip, client.A.Port, from.Ip, conn.Sport, "TCP_ESTABLISHED");
            var app = client.A.Server(w, client, to);
            w.Tetragon(end.AddMilliseconds(1), SensorJson.Kprobe(app, to.Node.Name, end.AddMilliseconds(1), "inet_csk_accept", "network-observability", SensorJson.SockArgs(new SensorJson.Sock("tcp", "0.0.0.0", client.A.Port, "0.0.0.0", 0, "TCP_LISTEN")), accepted));
            w.Net.Send(proc, conn, 300, end.AddMilliseconds(2));
            w.Net.Send(app, accepted, 1_200, end.AddMilliseconds(6));
        }

        a.Label("peer-direction-reversal", true, server, [from], t, end.AddSeconds(1), $"{server.W.Name}, always the one called by {client.W.Name}, now connects to {client.W.Name}'s port itself (a pivot)", client);
    }

    private void Beacon(DateTimeOffset t)
    {
        var (d, saas) = a.Choose(Saas, x => x.D);
        var pod = a.PodOf(d);
        var proc = d.A.Worker(w, d, pod);
        var end = t;
        for (var i = 0; i < 12; i++)
        {
            // Exactly once a minute, a few hundred bytes: a beacon hiding in a SaaS API the app already uses.
            end = t.AddSeconds(i * 60).AddMilliseconds(w.R.Next(0, 40));
            w.Net.External(pod, proc, saas, end, 480 + w.R.Next(0, 40), 1);
        }

        a.Label("beacon-known-saas", true, d, [pod], t, end.AddSeconds(1), $"{d.W.Name} calls its usual {saas.Host} exactly once a minute with a few hundred bytes (command and control hiding in a known API)");
    }
}
