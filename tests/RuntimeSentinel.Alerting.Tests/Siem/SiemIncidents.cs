using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Alerting.Tests.Siem;

/// <summary>Incidents with every kind of evidence a SIEM document maps: a shell with its parent, a file, a connection, a DNS query, a model finding.</summary>
internal static class SiemIncidents
{
    private static readonly LabelSet Tetragon = LabelSet.Of(("source", "tetragon"), ("exec_id", "bm9kZS1hOjEyMzQ1"), ("parent_exec_id", "bm9kZS1hOjEwMDA="));

    public static Incident ShellTree(IncidentStatus status = IncidentStatus.Firing, int version = 1)
    {
        var shell = TestAlerts.Make(Some.Exec("/bin/sh", "/usr/sbin/nginx") with { Labels = Tetragon, Process = new ProcessInfo(4242, 1000, 101, "/bin/sh", "-c id; cat /etc/shadow", "/usr/sbin/nginx") }, "unexpected_lineage", Severity.High, "/bin/sh <- /usr/sbin/nginx");
        var shadow = TestAlerts.Make(Some.FileOpen("/etc/shadow") with { Labels = Tetragon, Process = new ProcessInfo(4243, 4242, 101, "/bin/cat", "/etc/shadow", "/bin/sh") }, "unexpected_file", Severity.High, "/etc/shadow", Some.Time.AddSeconds(1));
        var connect = TestAlerts.Make(Some.Connect("203.0.113.66", 4444) with { Net = new NetInfo("tcp", "10.244.1.10", 44590, "203.0.113.66", 4444, 0, 512) { Direction = NetDirection.Outbound } }, "unexpected_network", Severity.Medium, "203.0.113.0/24:4444/tcp", Some.Time.AddSeconds(2));
        var dns = TestAlerts.Make(Some.Dns("pool.minexmr.example") with { DnsAnswers = "198.51.100.7,not-an-ip", Labels = LabelSet.Of(("source", "hubble"), ("peer.workload", "kube-system/Deployment/coredns")) }, "unexpected_dns", Severity.Medium, "pool.minexmr.example", Some.Time.AddSeconds(3));
        var model = TestAlerts.Make(Some.Resource(1.9, 1 << 28), "resource_spike", Severity.Medium, "spike:cpu_cores", Some.Time.AddSeconds(4)) with
        {
            Detector = "spike:cpu_cores",
            Detectors = [new DetectorScore("spike:cpu_cores", 15.7, 6.6), new DetectorScore("behaviour_pca", 25.0, 6.1)],
            TopFeatures = [new FeatureContribution("cpu_cores", 1.97, 0.41, 0.62), new FeatureContribution("new_exe_ratio", 0.5, 0, 0.21)],
            CombinedScore = 4.1,
            ModelVersion = "v3",
            Windowed = true,
        };
        var incident = new Incident(shell, shell.Time);
        foreach (var a in new[] { shadow, connect, dns, model })
        {
            incident.Add(a);
        }

        incident.Status = status;
        incident.Version = version;
        return incident;
    }

    /// <summary>Everything an attacker can choose made awkward: quotes and newlines in names, addresses that are none, ports out of range.</summary>
    public static Incident Hostile()
    {
        var weird = "/tmp/\"x\"\n\u001b[2J<script>";
        var e = Some.Exec(weird, "/bin/sh\r\n") with
        {
            Kind = EventKind.NetConnect,
            Net = new NetInfo("TCP", "::ffff:10.0.0.1", 70000, "999.1.1.1", -5, 1, 2),
            FilePath = "relative\\name",
            DnsName = "a..b\u0000c",
            Workload = Some.Workload() with { ContainerId = "abc", Image = "registry:5000/app@sha256:deadbeef", ImageDigest = null, Pod = null, Namespace = null },
        };
        var alert = TestAlerts.Make(e, "unexpected_process", Severity.Critical, weird) with { Threshold = 0 };
        return new Incident(alert, alert.Time) { Status = IncidentStatus.Firing, Version = 1 };
    }
}
