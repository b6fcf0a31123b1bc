using static RuntimeSentinel.Generators.Corpus.SensorJson;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// The simulated cluster's state and its one source of randomness: nodes, workloads, pods, processes, the queue
/// records wait in until their time comes, and the labels. Everything the generators draw comes from <see cref="R"/>,
/// so a seed fixes every byte.
/// </summary>
internal sealed class ClusterWorld
{
    private readonly PriorityQueue<(string Sensor, byte[] Json), (DateTimeOffset, long)> _queue = new();
    private long _sequence;
    private int _nextEndpoint = 1200;

    public ClusterWorld(int seed, DateTimeOffset start)
    {
        R = new Random(Mix(seed));
        Start = start;
    }

    /// <summary>
    /// The seed, scrambled (lowbias32): .NET's seeded <see cref="Random"/> gives strongly correlated draws for
    /// consecutive seeds (seeds 1, 2, 3 drew the same cycle of flavours and node counts), and a seed should pick a
    /// cluster as if at random.
    /// </summary>
    private static int Mix(int seed)
    {
        var x = (uint)seed;
        x ^= x >> 16;
        x *= 0x7feb352dU;
        x ^= x >> 15;
        x *= 0x846ca68bU;
        x ^= x >> 16;
        return (int)(x & 0x7fffffff);
    }

    public Random R { get; }

    public DateTimeOffset Start { get; }

    /// <summary>When the learning window ends (labels before it are not needed: nothing is judged there but attacks).</summary>
    public DateTimeOffset LearningEnds { get; set; }

    /// <summary>CronJob minutes whose scheduled run an attacker's run replaces.</summary>
    public HashSet<(string Workload, int Minute)> Suppressed { get; } = [];

    public ClusterFlavor Flavor { get; set; } = ClusterFlavor.Kubeadm;

    public List<CorpusNode> Nodes { get; } = [];

    public List<Deployed> Workloads { get; } = [];

    public Dictionary<string, PodRuntime> Pods { get; } = new(StringComparer.Ordinal);

    public List<CorpusLabel> Labels { get; } = [];

    /// <summary>Adds a label; a scenario name already taken (the same attack twice on one workload) gets a suffix.</summary>
    public void Label(CorpusLabel label)
    {
        var name = label.Scenario;
        for (var i = 2; Labels.Any(l => l.Scenario == name); i++)
        {
            name = $"{label.Scenario}-{i}";
        }

        Labels.Add(label with { Scenario = name });
    }

    /// <summary>Addresses of the internet's clients (the ingress's visitors); some come back, new ones keep arriving.</summary>
    public List<string> Clients { get; } = [];

    /// <summary>The HTTP apps the internet reaches (through the ingress, or a LoadBalancer Service of their own).</summary>
    public List<Deployed> Public { get; } = [];

    /// <summary>The load balancer sends visitors through a node (externalTrafficPolicy: Cluster): their address is SNATed to it.</summary>
    public bool ClientSnat { get; set; }

    /// <summary>Traffic bursts (a newsletter, a sale): from, until, factor.</summary>
    public List<(DateTimeOffset From, DateTimeOffset Until, double Factor)> Bursts { get; } = [];

    public double Burst(DateTimeOffset t) => Bursts.Where(b => t >= b.From && t < b.Until).Select(b => b.Factor).DefaultIfEmpty(1).Max();

    /// <summary>An app whose library phones home every 5 minutes past a default-deny egress policy (null: none does).</summary>
    public (Deployed App, Peer Home)? PhoneHome { get; set; }

    /// <summary>Visitors a second at a load of 1 (set per shape).</summary>
    public double Visits { get; set; } = 0.3;

    /// <summary>How busy the cluster's users are at a time (time of day in the cluster's users' zone, and bursts).</summary>
    public Func<DateTimeOffset, double> Load { get; set; } = _ => 1;

    public ClusterNet Net { get; set; } = null!;

    public Kubelet Kubelet { get; set; } = null!;

    public Deployed? Find(string key) => Workloads.FirstOrDefault(d => d.A.Key == key);

    public IEnumerable<Deployed> All(string key) => Workloads.Where(d => d.A.Key == key);

    public PodRuntime Runtime(CorpusPod pod) => Pods[pod.Name];

    /// <summary>The current timestamped directory of one of a pod's atomic-writer volumes (written when the pod started).</summary>
    public string Volume(CorpusPod pod, string volume)
    {
        var rt = Runtime(pod);
        if (!rt.Volumes.TryGetValue(volume, out var dir))
        {
            dir = AtomicDir(pod.ContainerStart.AddSeconds(-2));
            rt.Volumes[volume] = dir;
        }

        return dir;
    }

    public Deployed Of(CorpusPod pod) => Workloads.First(d => ReferenceEquals(d.W, pod.Workload));

    // ---------------------------------------------------------------- emission

    public void Emit(DateTimeOffset t, string sensor, byte[] json) => _queue.Enqueue((sensor, json), (t, _sequence++));

    /// <summary>Records made so far.</summary>
    public long Emitted => _sequence;

    /// <summary>Records due before <paramref name="until"/>, in time order (ties in the order they were made).</summary>
    public IEnumerable<(DateTimeOffset Time, string Sensor, byte[] Json)> Due(DateTimeOffset until)
    {
        while (_queue.TryPeek(out _, out var key) && key.Item1 < until)
        {
            var (sensor, json) = _queue.Dequeue();
            yield return (key.Item1, sensor, json);
        }
    }

    public void Tetragon(DateTimeOffset t, byte[] json) => Emit(t, "tetragon", json);

    public void Exec(Proc p, DateTimeOffset? at = null) => Tetragon(at ?? p.Start, SensorJson.Exec(p, NodeOf(p), at ?? p.Start));

    public void Exit(Proc p, DateTimeOffset t, int status = 0) => Tetragon(t, SensorJson.Exit(p, NodeOf(p), t, status));

    public void File(Proc p, DateTimeOffset t, string path, bool write) =>
        Tetragon(t, Kprobe(p, NodeOf(p), t, "security_file_permission", "file-monitoring", FileArgs(path, write)));

    /// <summary>A kernel call a policy hooks by name (<c>__x64_sys_setuid</c>, <c>__x64_sys_mount</c>, ...), with its integer arguments.</summary>
    public void Call(Proc p, DateTimeOffset t, string function, string policy, params long[] args) =>
        Tetragon(t, Kprobe(p, NodeOf(p), t, function, policy, IntArgs(args)));

    /// <summary>The node a container's process runs on (the export leaves host processes out: they only appear as parents).</summary>
    public static string NodeOf(Proc p) => p.Pod!.Node.Name;

    public DateTimeOffset Jitter(DateTimeOffset t, int ms = 1000) => t.AddMilliseconds(R.Next(0, ms));

    // ---------------------------------------------------------------- names and ids

    public string Hex(int bytes)
    {
        var b = new byte[bytes];
        R.NextBytes(b);
        return Convert.ToHexStringLower(b);
    }

    public string Digest() => "sha256:" + Hex(32);

    public string Token(int n) => new(Enumerable.Range(0, n).Select(_ => "bcdfghjklmnpqrstvwxz2456789"[R.Next(27)]).ToArray());

    public T Pick<T>(IReadOnlyList<T> items) => items[R.Next(items.Count)];

    /// <summary>A Poisson count for a mean (small means: the number of events in one second).</summary>
    public int Poisson(double mean)
    {
        var limit = Math.Exp(-mean);
        var k = 0;
        var p = R.NextDouble();
        while (p > limit && k < 1000)
        {
            k++;
            p *= R.NextDouble();
        }

        return k;
    }

    /// <summary>The kubelet atomic writer's directory name: <c>..2026_11_30_01_23_45.</c> and a random number (os.MkdirTemp).</summary>
    public string AtomicDir(DateTimeOffset t) => $"..{t.UtcDateTime:yyyy_MM_dd_HH_mm_ss}.{R.Next(100_000_000, int.MaxValue)}";

    // ---------------------------------------------------------------- processes

    public int NextPid(CorpusNode node)
    {
        // Other processes on the node (the kubelet's own children, cron, other pods) take pids in between.
        var pid = node.NextHostPid;
        node.NextHostPid += 1 + R.Next(0, 24);
        return pid;
    }

    public Proc Spawn(CorpusPod pod, string binary, string args, DateTimeOffset start, Proc? parent, int uid, string cwd = "/", string flags = "execve clone")
    {
        var pid = NextPid(pod.Node);
        var containerPid = pod.Processes.Count == 0 && parent is null ? 1 : pod.NextContainerPid++;
        return new Proc { Pid = pid, ContainerPid = containerPid, Binary = binary, Args = args, Start = start, ExecId = ExecId(pod.Node.Name, start, pid), Parent = parent ?? Runtime(pod).Shim, Pod = pod, Uid = uid, Cwd = cwd, Flags = flags };
    }

    /// <summary>A process replacing itself with another program (<c>exec</c> in a shell script): same pid, new exec id.</summary>
    public Proc Replace(Proc old, string binary, string args, DateTimeOffset at, int? uid = null, string? cwd = null) =>
        new() { Pid = old.Pid, ContainerPid = old.ContainerPid, Binary = binary, Args = args, Start = at, ExecId = ExecId(NodeOf(old), at, old.Pid + 7), Parent = old.Parent, Pod = old.Pod, Uid = uid ?? old.Uid, Cwd = cwd ?? old.Cwd, Flags = "execve rootcwd" };

    /// <summary>One of a process's threads (a JVM's or Go runtime's): the same process, another thread id.</summary>
    public static Proc Thread(Proc p, int index) => index == 0 ? p : new Proc
    {
        Pid = p.Pid,
        ContainerPid = p.ContainerPid,
        Binary = p.Binary,
        Args = p.Args,
        Start = p.Start,
        ExecId = p.ExecId,
        Parent = p.Parent,
        Pod = p.Pod,
        Uid = p.Uid,
        Cwd = p.Cwd,
        Flags = p.Flags,
        Tid = p.Pid + 6 + index,
    };

    // ---------------------------------------------------------------- pods

    public CorpusNode PlaceOn(Deployed d, int ordinal, CorpusNode? avoid = null)
    {
        if (d.W.Kind == "DaemonSet")
        {
            return Nodes[ordinal % Nodes.Count];
        }

        // The scheduler spreads replicas: the least-loaded node that is not being drained.
        var candidates = Nodes.Where(n => n != avoid && !Drained.Contains(n.Name)).ToList();
        var load = candidates.ToDictionary(n => n.Name, n => Workloads.SelectMany(w => w.Running).Count(p => p.Node == n) + (d.Running.Any(p => p.Node == n) ? 5 : 0));
        var min = load.Values.Min();
        var best = candidates.Where(n => load[n.Name] <= min + 1).ToList();
        return best[R.Next(best.Count)];
    }

    public HashSet<string> Drained { get; } = new(StringComparer.Ordinal);

    public string PodName(Deployed d, int ordinal) => d.W.Kind switch
    {
        "StatefulSet" => $"{d.W.Name}-{ordinal}",
        "DaemonSet" => $"{d.W.Name}-{Token(5)}",
        "CronJob" or "Job" => $"{d.W.Name}-{(d.W.Kind == "CronJob" ? $"{29_412_000 + R.Next(0, 999)}-" : "")}{Token(5)}",
        _ => $"{d.W.Name}-{HashOf(d.W.Digest)}-{Token(5)}",
    };

    private static string HashOf(string digest) => new(digest[7..17].Select(c => "bcdfghjklmnpqrstvwxz2456789"[c % 27]).ToArray());

    /// <summary>A pod scheduled on a node: its shim, its address, its token volume; the archetype starts its processes.</summary>
    public CorpusPod NewPod(Deployed d, DateTimeOffset scheduled, int ordinal, bool seen, CorpusNode? on = null, string? name = null)
    {
        // Istio's init container runs first; the pod's other containers start once it has exited.
        var started = seen && d.Sidecar == "istio-proxy" ? scheduled.AddMilliseconds(400) : scheduled;
        var node = on ?? PlaceOn(d, ordinal);
        var ip = d.W.HostNetwork ? node.Ip : node.PodPrefix + node.NextPodIp++;
        if (node.NextPodIp > 250)
        {
            node.NextPodIp = 10;
        }

        var pod = new CorpusPod
        {
            Workload = d.W,
            Name = name ?? PodName(d, ordinal),
            Ip = ip,
            Node = node,
            ContainerId = "containerd://" + Hex(32),
            ContainerStart = started,
            Image = d.W.Image,
            Digest = d.W.Digest,
            EndpointId = _nextEndpoint++,
            EphemeralStart = 32768 + R.Next(0, 25000),
        };
        var shimStart = started.AddMilliseconds(-400 - R.Next(600));
        var shimPid = NextPid(node);
        var shim = new Proc { Pid = shimPid, Binary = "/usr/bin/containerd-shim-runc-v2", Args = $"-namespace k8s.io -id {Hex(32)} -address /run/containerd/containerd.sock", Start = shimStart, ExecId = ExecId(node.Name, shimStart, shimPid), Parent = node.Shim };
        // A pod running since before the sensor started last had its token refreshed some time within the last 48 min.
        var issued = started < Start ? Start.AddSeconds(-R.Next(0, (int)Kubelet.TokenRefresh.TotalSeconds)) : started;
        Pods[pod.Name] = new PodRuntime { Shim = shim, TokenIssued = issued, TokenDir = AtomicDir(issued.AddSeconds(-2)) };
        d.W.Pods.Add(pod);
        if (seen && d.Sidecar is "istio-proxy")
        {
            Kubelet.IstioInit(pod, scheduled);
        }

        if (d.Sidecar is { } sidecar)
        {
            var other = Container(pod, sidecar, Sidecars.Image(sidecar), Sidecars.Digest(sidecar), started.AddMilliseconds(R.Next(20, 200)));
            Sidecars.Start(this, d, other, other.ContainerStart, seen);
        }

        d.A.Start(this, d, pod, started, seen);
        return pod;
    }

    /// <summary>Another container in a running pod (sidecar, init, ephemeral): same pod name and address, its own id.</summary>
    public CorpusPod Container(CorpusPod pod, string name, string image, string digest, DateTimeOffset started)
    {
        var other = new CorpusPod
        {
            Workload = pod.Workload,
            Name = pod.Name,
            Ip = pod.Ip,
            Node = pod.Node,
            ContainerId = "containerd://" + Hex(32),
            ContainerStart = started,
            Image = image,
            Digest = digest,
            EndpointId = pod.EndpointId,
            EphemeralStart = 32768 + R.Next(0, 25000),
            ContainerName = name,
        };
        Runtime(pod).Others.Add(other);
        return other;
    }

    /// <summary>Every process of a pod (all its containers) exits: deleted, drained or replaced.</summary>
    public void Stop(CorpusPod pod, DateTimeOffset t, int status = 0)
    {
        pod.Alive = false;
        foreach (var c in Runtime(pod).Others.Where(o => o.Alive).Append(pod))
        {
            c.Alive = false;
            foreach (var p in c.Processes.AsEnumerable().Reverse())
            {
                Exit(p, t.AddMilliseconds(R.Next(5, 400)), status);
            }
        }
    }

    public Falco Falco => new(this);

    /// <summary>A pod's UID (the kubelet's directories and the log path name it); stable for a pod name.</summary>
    public static string Uid(CorpusPod pod) => new Guid(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(pod.Name + pod.ContainerStart.ToUnixTimeSeconds())).AsSpan(0, 16)).ToString();

    /// <summary>Where the kubelet writes a container's log (what /var/log/containers/*.log links to).</summary>
    public static string LogPath(CorpusPod c) => $"/var/log/pods/{c.Workload.Namespace}_{c.Name}_{Uid(c)}/{c.ContainerName ?? c.Workload.Container}/0.log";
}
