using static RuntimeSentinel.Generators.Corpus.SensorJson;

namespace RuntimeSentinel.Generators.Corpus;

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
public sealed partial class ShopCorpus
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
        var corpus = new ShopCorpus(seed, start);
        var n = await CorpusFiles.WriteAsync(directory, "shop", seed, corpus.Generate(), () => new(corpus.Start, corpus.LearningEnds, corpus.AttacksStart, corpus.End), () => corpus.Labels, ct).ConfigureAwait(false);
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
}
