namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// Prometheus node-exporter (DaemonSet, host network and host PID): on every scrape it reads the host's /proc and
/// /sys through its /host mounts; it listens on the node's own address.
/// </summary>
internal sealed class NodeExporter : Archetype
{
    private static readonly string[] Files = ["/host/proc/stat", "/host/proc/meminfo", "/host/proc/loadavg", "/host/proc/net/dev", "/host/proc/diskstats", "/host/proc/pressure/cpu", "/host/sys/fs/cgroup/cpu.stat", "/host/proc/net/sockstat", "/host/sys/class/thermal/thermal_zone0/temp", "/host/proc/mounts"];

    public override string Key => "node-exporter";

    public override string Summary => "Prometheus node-exporter DaemonSet (hostNetwork + hostPID, reads /host/proc and /host/sys on every scrape)";

    public override string Kind => "DaemonSet";

    public override IReadOnlyList<string> Names => ["node-exporter", "prometheus-node-exporter"];

    public override IReadOnlyList<string> Namespaces => ["monitoring"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => "quay.io/prometheus/node-exporter:v1.8.2";

    public override int Port => 9100;

    public override bool Meshable => false;

    public override bool RunLink => false;

    public override bool HostNetwork => true;

    public override int MetricsPort => 9100;

    public override ProbeSpec Probe => ProbeSpec.Http(9100, 30);

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var exporter = w.Spawn(pod, "/bin/node_exporter", $"--path.procfs=/host/proc --path.sysfs=/host/sys --path.rootfs=/host/root --path.udev.data=/host/root/run/udev/data --web.listen-address=[{pod.Node.Ip}]:9100", at, null, 65534, "/");
        pod.Processes.Add(exporter);
        if (seen)
        {
            w.Exec(exporter);
            ReadAll(w, exporter, at.AddMilliseconds(4), ["/host/proc/sys/kernel/random/boot_id", "/host/proc/cpuinfo"]);
        }
    }

    public override Proc Server(ClusterWorld w, Deployed d, CorpusPod pod) => ClusterWorld.Thread(pod.Main, w.R.Next(0, 5));

    /// <summary>A scrape: the collectors read the host's counters.</summary>
    public override DateTimeOffset Metrics(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset t)
    {
        var at = t;
        foreach (var f in Files.OrderBy(_ => w.R.Next()).Take(4))
        {
            w.File(ClusterWorld.Thread(pod.Main, 10 + w.R.Next(0, 8)), at, f, false);
            at = at.AddTicks(3_000 + w.R.Next(0, 10_000));
        }

        return at.AddMilliseconds(20 + w.R.Next(0, 40));
    }

    public override long MetricsBytes(ClusterWorld w) => 60_000 + w.R.Next(0, 30_000);

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
    }
}
