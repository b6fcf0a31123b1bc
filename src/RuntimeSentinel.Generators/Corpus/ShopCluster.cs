using static RuntimeSentinel.Generators.Corpus.SensorJson;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// The shop's cluster as the other parts of the corpus share it: its nodes, workloads and pods, the processes they
/// run, the labels written so far, the payment provider's current addresses, and the queue every record goes
/// through. There is one random source for the whole corpus: each part draws from it in turn, so a seed gives the
/// same records whichever part draws them.
/// </summary>
internal sealed class ShopCluster
{
    private readonly DateTimeOffset _start;
    private readonly PriorityQueue<(string Sensor, byte[] Json), (DateTimeOffset, long)> _queue = new();
    private readonly List<CorpusNode> _nodes = [];
    private readonly Dictionary<string, CorpusWorkload> _w = new(StringComparer.Ordinal);
    private long _sequence;
    private int _nextEndpoint = 100;

    public ShopCluster(int seed, DateTimeOffset start)
    {
        Random = new Random(seed);
        _start = start;
    }

    public Random Random { get; }

    public DateTimeOffset Start => _start;

    public DateTimeOffset LearningEnds => _start.AddMinutes(30);

    public List<CorpusLabel> Labels { get; } = [];

    /// <summary>Where api.paygate.example resolves now: the churn moves it, the api and the attacks call it.</summary>
    public string[] Paygate { get; set; } = ["198.51.100.21", "198.51.100.22"];

    /// <summary>The next record due before <paramref name="before"/>, in time order (ties in the order emitted).</summary>
    public bool TryTake(DateTimeOffset before, out (DateTimeOffset Time, string Sensor, byte[] Json) record)
    {
        if (_queue.TryPeek(out _, out var key) && key.Item1 < before)
        {
            var (sensor, json) = _queue.Dequeue();
            record = (key.Item1, sensor, json);
            return true;
        }

        record = default;
        return false;
    }

    public void Emit(DateTimeOffset t, string sensor, byte[] json) => _queue.Enqueue((sensor, json), (t, _sequence++));

    public DateTimeOffset Jitter(DateTimeOffset t) => t.AddMilliseconds(Random.Next(0, 1000));

    /// <summary>Three nodes and the shop's eight workloads, their pods started hours to days before the stream.</summary>
    public void Build()
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

    public string Digest() => "sha256:" + Hex(32);

    public string Hex(int bytes)
    {
        var b = new byte[bytes];
        Random.NextBytes(b);
        return Convert.ToHexStringLower(b);
    }

    private void Add(CorpusWorkload w, int replicas)
    {
        _w[w.Name] = w;
        for (var i = 0; i < replicas; i++)
        {
            NewPod(w, _start.AddHours(-Random.Next(30, 240)), i);
        }
    }

    public CorpusWorkload W(string name) => _w[name];

    private string PodName(CorpusWorkload w, int ordinal) => w.Kind switch
    {
        "StatefulSet" => $"{w.Name}-{ordinal}",
        "DaemonSet" => $"{w.Name}-{Token(5)}",
        "CronJob" => $"{w.Name}-{29_412_000 + Random.Next(0, 999)}-{Token(5)}",
        _ => $"{w.Name}-{HashOf(w.Digest)}-{Token(5)}",
    };

    private static string HashOf(string digest) => new string(digest[7..17].Select(c => "bcdfghjklmnpqrstvwxz2456789"[c % 27]).ToArray());

    public string Token(int n) => new(Enumerable.Range(0, n).Select(_ => "bcdfghjklmnpqrstvwxz2456789"[Random.Next(27)]).ToArray());

    /// <summary>A new pod (scheduled, IP from its node's range) with its entrypoint and long-running processes.</summary>
    public CorpusPod NewPod(CorpusWorkload w, DateTimeOffset started, int ordinal, CorpusNode? on = null)
    {
        var node = on ?? (w.Kind == "DaemonSet" ? _nodes[ordinal % _nodes.Count] : _nodes[Random.Next(_nodes.Count)]);
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
            EphemeralStart = 32768 + Random.Next(0, 25000),
        };
        w.Pods.Add(pod);
        StartProcesses(pod, started);
        return pod;
    }

    public Proc Spawn(CorpusPod pod, string binary, string args, DateTimeOffset start, Proc? parent, int uid, string cwd = "/", string flags = "execve clone")
    {
        var pid = pod.Node.NextHostPid++;
        var containerPid = pod.Processes.Count == 0 ? 1 : pod.NextContainerPid++;
        return new Proc { Pid = pid, ContainerPid = containerPid, Binary = binary, Args = args, Start = start, ExecId = ExecId(pod.Node.Name, start, pid), Parent = parent ?? pod.Node.Shim, Pod = pod, Uid = uid, Cwd = cwd, Flags = flags };
    }

    public void StartProcesses(CorpusPod pod, DateTimeOffset start)
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
    public void Inventory()
    {
        foreach (var w in _w.Values)
        {
            foreach (var pod in w.Running)
            {
                foreach (var p in pod.Processes)
                {
                    var scanned = new Proc { Pid = p.Pid, ContainerPid = p.ContainerPid, Binary = p.Binary, Args = p.Args, Start = p.Start, ExecId = p.ExecId, Parent = p.Parent, Pod = pod, Uid = p.Uid, Cwd = p.Cwd, Flags = "procFS auid rootcwd" };
                    Emit(_start.AddMilliseconds(Random.Next(0, 800)), "tetragon", Exec(scanned, pod.Node.Name, p.Start));
                }
            }
        }
    }
}
