using System.Text;
using System.Text.Json;
using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Alerting.Tests;

public class AlertmanagerSinkTests
{
    private static AlertmanagerAlertSink Sink(TimeProvider clock) =>
        new(() => new HttpClient(), new EndpointOptions { Url = "http://127.0.0.1:1" }, null, new AlertingOptions(), clock);

    /// <summary>The rendered item as the HTTP body carries it: items are joined into one JSON array.</summary>
    private static List<JsonElement> Alerts(byte[] item) =>
        JsonDocument.Parse("[" + Encoding.UTF8.GetString(item) + "]").RootElement.EnumerateArray().ToList();

    [Fact]
    public void Render_NextVersionWithOtherLabels_ResolvesThePreviousLabelsInTheSameItem()
    {
        var clock = new TestClock();
        var sink = Sink(clock);
        var incident = new Incident(TestAlerts.Exec("/usr/bin/curl", 10) with { Severity = Severity.Medium }, clock.GetUtcNow());
        var first = Assert.Single(Alerts(sink.Render(incident.Snapshot())));
        Assert.Equal(clock.GetUtcNow() + new AlertingOptions().IncidentWindow, first.GetProperty("endsAt").GetDateTimeOffset());

        clock.Advance(TimeSpan.FromSeconds(42));
        incident.Add(TestAlerts.Exec("/bin/sh", 11) with { Severity = Severity.Critical });
        var second = Alerts(sink.Render(incident.Snapshot()));

        Assert.Equal(2, second.Count);
        var (old, now) = (second[0], second[1]);
        Assert.Equal("medium", old.GetProperty("labels").GetProperty("severity").GetString());
        Assert.Equal(clock.GetUtcNow(), old.GetProperty("endsAt").GetDateTimeOffset()); // the superseded labels are resolved now
        Assert.Equal("critical", now.GetProperty("labels").GetProperty("severity").GetString());
        Assert.Equal(clock.GetUtcNow() + new AlertingOptions().IncidentWindow, now.GetProperty("endsAt").GetDateTimeOffset()); // the new version fires on
        Assert.Equal(incident.Id, now.GetProperty("labels").GetProperty("incident").GetString());
    }

    [Fact]
    public void Render_Resolved_EndsNow()
    {
        var clock = new TestClock();
        var sink = Sink(clock);
        var incident = new Incident(TestAlerts.Exec("/bin/sh", 10), clock.GetUtcNow());
        sink.Render(incident.Snapshot());
        clock.Advance(TimeSpan.FromMinutes(10));
        incident.Status = IncidentStatus.Resolved;

        var resolved = Assert.Single(Alerts(sink.Render(incident.Snapshot())));
        Assert.Equal(clock.GetUtcNow(), resolved.GetProperty("endsAt").GetDateTimeOffset());
        Assert.Equal(incident.FirstSeen, resolved.GetProperty("startsAt").GetDateTimeOffset());
    }

    [Fact]
    public void Render_NextVersionWithTheSameLabels_IsOneAlert()
    {
        var clock = new TestClock();
        var sink = Sink(clock);
        var incident = new Incident(TestAlerts.Exec("/bin/sh", 10), clock.GetUtcNow());
        sink.Render(incident.Snapshot());
        incident.Add(TestAlerts.Exec("/bin/sh", 12));

        Assert.Single(Alerts(sink.Render(incident.Snapshot())));
    }
}
