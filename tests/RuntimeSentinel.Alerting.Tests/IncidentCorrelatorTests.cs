using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Alerting.Tests;

public class IncidentCorrelatorTests
{
    private static Alert Resource(DateTimeOffset time) =>
        TestAlerts.Make(Some.Resource(1.97, 300 << 20) with { Process = ProcessInfo.None }, "resource_spike", Severity.High, "cpu_cores", time);

    [Fact]
    public void Add_ProcesslessAlertSoonAfterTheIncidentsLastAlert_JoinsItWhateverTheDispatcherLag()
    {
        var correlator = new IncidentCorrelator(new AlertingOptions());
        var t = Some.Time;
        Assert.True(correlator.Add(TestAlerts.Exec("/tmp/.cache/xmrig", 89, 88) with { Time = t }, t));

        // The model confirmed the CPU spike two windows later, and a busy dispatcher saw it 20 s after the miner:
        // still the miner's incident.
        Assert.False(correlator.Add(Resource(t.AddSeconds(12)), t.AddSeconds(20)));
        Assert.Equal(1, correlator.OpenCount);

        // A spike minutes later is its own incident, not an update of the miner's.
        Assert.True(correlator.Add(Resource(t.AddMinutes(5)) with { Fingerprint = "other" }, t.AddMinutes(5)));
        Assert.Equal(2, correlator.OpenCount);
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
}
