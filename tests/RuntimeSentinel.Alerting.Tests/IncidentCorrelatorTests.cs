using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Alerting.Tests;

public class IncidentCorrelatorTests
{
    private static Alert Resource(DateTimeOffset time) =>
        TestAlerts.Make(Some.Resource(1.97, 300 << 20) with { Process = ProcessInfo.None, Timestamp = time }, "resource_spike", Severity.High, "cpu_cores", time);

    [Fact]
    public void Add_ProcesslessAlertSoonAfterTheIncidentsLastAlert_JoinsItWhateverTheDispatcherLag()
    {
        var correlator = new IncidentCorrelator(new AlertingOptions());
        var t = Some.Time;
        Assert.True(correlator.Add(TestAlerts.Exec("/tmp/.cache/xmrig", 89, 88) with { Time = t }, t));

        // The model confirmed the CPU spike two windows later, and a busy dispatcher saw it 20 s after the miner:
        // still the miner's incident (by the sensor's event time).
        Assert.False(correlator.Add(Resource(t.AddSeconds(12)), t.AddSeconds(20)));
        Assert.Equal(1, correlator.OpenCount);

        // A spike minutes later is its own incident, not an update of the miner's.
        Assert.True(correlator.Add(Resource(t.AddMinutes(5)) with { Fingerprint = "other" }, t.AddMinutes(5)));
        Assert.Equal(2, correlator.OpenCount);
    }

    [Fact]
    public void Add_AnotherReplicasProcessWithTheSamePid_OpensItsOwnIncident()
    {
        // Namespace pids repeat in every pod of a workload: pid 40 in another replica is another process tree.
        var correlator = new IncidentCorrelator(new AlertingOptions());
        var t = Some.Time;
        var shell = TestAlerts.Exec("/bin/sh", 40) with { Time = t };
        Assert.True(correlator.Add(shell, t));
        var otherPod = Some.Workload(pod: "cart-7d9f8b6c5b-q8m2z") with { ContainerId = "containerd://fedcba9876543210fedc" };
        var miner = TestAlerts.Make(Some.Exec("/tmp/xmrig", "/bin/sh", otherPod) with { Process = new ProcessInfo(41, 40, 0, "/tmp/xmrig", null, "/bin/sh"), Timestamp = t.AddMinutes(10) }, "unexpected_process", Severity.Critical, time: t.AddMinutes(10));

        Assert.True(correlator.Add(miner, t.AddMinutes(10)));
        Assert.Equal(2, correlator.OpenCount);

        // The same pod's child of pid 40 joins the shell's incident, also as a sensor that writes the short container id
        // (Falco) reports it.
        var child = TestAlerts.Make(Some.Exec("/usr/bin/wget", "/bin/sh", Some.Workload()) with { Process = new ProcessInfo(42, 40, 0, "/usr/bin/wget", null, "/bin/sh"), Timestamp = t.AddMinutes(11) }, "unexpected_process", Severity.Critical, time: t.AddMinutes(11));
        Assert.False(correlator.Add(child, t.AddMinutes(11)));
        var falco = TestAlerts.Make(Some.Exec("/usr/bin/curl", "/bin/sh", Some.Workload() with { ContainerId = "0123456789AB" }) with { Process = new ProcessInfo(43, 40, 0, "/usr/bin/curl", null, "/bin/sh"), Timestamp = t.AddMinutes(12) }, "sensor_alert", Severity.Critical, time: t.AddMinutes(12));
        Assert.False(correlator.Add(falco, t.AddMinutes(12)));
        Assert.Equal(2, correlator.OpenCount);
    }

    [Fact]
    public void Due_SeriousAlertJoinsAnEmittedLesserIncident_UpdatesAtOnceNotAfterTheGroupInterval()
    {
        var correlator = new IncidentCorrelator(new AlertingOptions { IncidentGroupWait = TimeSpan.Zero, IncidentGroupInterval = TimeSpan.FromMinutes(1) });
        var t = Some.Time;

        // One process tree: python (41) and what it starts.
        Alert Exec(string exe, int pid, Severity severity, int seconds) =>
            TestAlerts.Make(Some.Exec(exe, "/usr/bin/python3", Some.Workload()) with { Process = new ProcessInfo(pid, pid == 41 ? 1 : 41, 0, exe, null, "/usr/bin/python3") }, severity: severity) with { Time = t.AddSeconds(seconds) };
        correlator.Add(Exec("/usr/bin/python3", 41, Severity.Medium, 0), t);
        Assert.Equal(Severity.Medium, Assert.Single(correlator.Due(t.AddSeconds(1))).Severity);

        // Another lesser finding of the same process tree waits for the interval, as before.
        correlator.Add(Exec("/usr/bin/wget", 42, Severity.Medium, 2), t.AddSeconds(2));
        Assert.Empty(correlator.Due(t.AddSeconds(3)));

        // A root shell of the same tree raises the incident to critical: the analyst gets it now.
        correlator.Add(Exec("/bin/sh", 43, Severity.Critical, 4), t.AddSeconds(4));
        var update = Assert.Single(correlator.Due(t.AddSeconds(5)));
        Assert.Equal((Severity.Critical, IncidentStatus.Updated), (update.Severity, update.Status));

        // Once emitted at that severity, more of the same waits for the interval again.
        correlator.Add(Exec("/bin/bash", 44, Severity.Critical, 6), t.AddSeconds(6));
        Assert.Empty(correlator.Due(t.AddSeconds(7)));
        Assert.Single(correlator.Due(t.AddSeconds(66)));
    }

    [Fact]
    public void Due_FlushAtShutdownWithNewAlerts_IsAnUpdateNotAResolution()
    {
        var correlator = new IncidentCorrelator(new AlertingOptions());
        var t = Some.Time;
        correlator.Add(TestAlerts.Exec("/bin/sh", 31337) with { Time = t }, t);
        Assert.Equal(IncidentStatus.Firing, Assert.Single(correlator.Due(t.AddSeconds(5))).Status);
        correlator.Add(TestAlerts.Exec("/usr/bin/nc", 31338, 31337) with { Time = t.AddSeconds(6) }, t.AddSeconds(6));

        // Stopping the daemon does not end the attack: Alertmanager must keep the incident firing.
        Assert.Equal(IncidentStatus.Updated, Assert.Single(correlator.Due(t.AddSeconds(7), flushAll: true)).Status);

        // Ten minutes without new alerts does.
        correlator.Add(TestAlerts.Exec("/usr/bin/id", 31339, 31337) with { Time = t.AddSeconds(8) }, t.AddSeconds(8));
        Assert.Equal(IncidentStatus.Resolved, Assert.Single(correlator.Due(t.AddMinutes(11))).Status);
    }

    [Theory]
    [InlineData("ocsf", null, true)]
    [InlineData("ecs", null, true)]
    [InlineData("sentinel", null, false)]
    [InlineData("sentinel", true, true)]
    [InlineData("ocsf", false, false)]
    public void Due_IncidentEndsWithNothingUnsent_ResolvedOnceWhereASiemSchemaNeedsTheEnd(string schema, bool? emitResolved, bool resolved)
    {
        var correlator = new IncidentCorrelator(new AlertingOptions { Schema = schema, EmitResolved = emitResolved });
        var t = Some.Time;
        correlator.Add(TestAlerts.Exec("/bin/sh", 31337) with { Time = t }, t);
        Assert.Equal(IncidentStatus.Firing, Assert.Single(correlator.Due(t.AddSeconds(5))).Status);

        // Ten minutes on, nothing new: the incident ends.
        var end = correlator.Due(t.AddMinutes(11));
        if (resolved)
        {
            var last = Assert.Single(end);
            Assert.Equal((IncidentStatus.Resolved, 2), (last.Status, last.Version));
        }
        else
        {
            Assert.Empty(end);
        }

        Assert.Equal(0, correlator.OpenCount);
        Assert.Empty(correlator.Due(t.AddMinutes(30)));
    }

    [Fact]
    public void ResolvesIncidents_OnlyTheKafkaSinkOnOcsf_On()
    {
        var options = new AlertingOptions { Schemas = { ["Kafka"] = "ocsf" } };

        Assert.True(options.ResolvesIncidents);
        Assert.False(new AlertingOptions().ResolvesIncidents);
    }

    [Fact]
    public void Add_WindowAlertWhoseExamplesAreAnotherProcess_JoinsTheIncidentItsWindowBelongsTo()
    {
        var correlator = new IncidentCorrelator(new AlertingOptions());
        var t = Some.Time;
        correlator.Add(TestAlerts.Exec("/tmp/.cache/xmrig", 89, 88) with { Time = t }, t);

        // The spike model's evidence is the window's busiest process (the job's own python), not the miner.
        var spike = TestAlerts.Exec("/usr/bin/python3", 40, 7) with { Time = t.AddSeconds(10), Category = "resource_spike", Fingerprint = "spike", Windowed = true };
        Assert.False(correlator.Add(spike, t.AddSeconds(10)));

        // A window of a later episode stays apart even when a lagging shard raises it right after the miner's alerts
        // (what counts is when its events happened), and although the same python was the spike's example: a window's
        // examples never tie an incident to a process.
        var later = TestAlerts.Make(Some.Syscall("sendto") with { Process = new ProcessInfo(40, 7, 1000, "/usr/bin/python3", null, "/bin/sh"), Timestamp = t.AddMinutes(1) }, "rate_spike", Severity.High, "spike:bytes_out", t.AddSeconds(12)) with { Fingerprint = "bytes", Windowed = true };
        Assert.True(correlator.Add(later, t.AddSeconds(12)));

        // Without the window flag, an alert about another process (not in the incident's tree) is an incident of its own.
        var other = TestAlerts.Exec("/usr/bin/python3", 41, 6) with { Time = t.AddSeconds(11), Category = "resource_spike", Fingerprint = "other" };
        Assert.True(correlator.Add(other, t.AddSeconds(11)));
    }

    [Fact]
    public void Add_FindingSecondsAfterAWindowThatStoodOutAlone_JoinsThatWindowsIncident()
    {
        var correlator = new IncidentCorrelator(new AlertingOptions());
        var t = Some.Time;
        Alert At(string exe, int pid, TimeSpan after, string fingerprint, bool windowed = false) =>
            TestAlerts.Make(Some.Exec(exe, "/usr/bin/dumb-init", Some.Workload()) with { Process = new ProcessInfo(pid, 1, 0, exe, null, "/usr/bin/dumb-init"), Timestamp = t + after }, windowed ? "behaviour_anomaly" : "unexpected_process", windowed ? Severity.Medium : Severity.High, fingerprint, t + after)
            with
            { Fingerprint = fingerprint, Windowed = windowed };

        // The window stands out first (a reload's connections and exits); the finding that explains it comes a second later.
        Assert.True(correlator.Add(At("/usr/bin/nginx", 50, TimeSpan.Zero, "window", windowed: true), t));
        Assert.False(correlator.Add(At("/nginx-ingress-controller", 60, TimeSpan.FromSeconds(1), "conf"), t.AddSeconds(1)));

        // Once the incident has a process tree, it is no longer a lone window: another process's finding stays apart.
        Assert.True(correlator.Add(At("/usr/bin/curl", 70, TimeSpan.FromSeconds(2), "curl"), t.AddSeconds(2)));

        // A finding long after a lone window is another story.
        Assert.True(correlator.Add(At("/usr/bin/nginx", 50, TimeSpan.FromMinutes(20), "window2", windowed: true), t.AddMinutes(20)));
        Assert.True(correlator.Add(At("/usr/bin/wget", 80, TimeSpan.FromMinutes(22), "wget"), t.AddMinutes(22)));
    }
}
