using System.Text;
using System.Text.Json;
using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Alerting.Tests;

public class AlertmanagerSinkTests
{
    private static AlertmanagerAlertSink Sink() =>
        new(() => new HttpClient(), new EndpointOptions { Url = "http://127.0.0.1:1" }, null, new AlertingOptions(), TimeProvider.System);

    /// <summary>The rendered item as the HTTP body carries it: items are joined into one JSON array.</summary>
    private static List<JsonElement> Alerts(byte[] item) =>
        JsonDocument.Parse("[" + Encoding.UTF8.GetString(item) + "]").RootElement.EnumerateArray().ToList();

    [Fact]
    public void Render_NextVersionWithOtherLabels_ResolvesThePreviousLabelsInTheSameItem()
    {
        var sink = Sink();
        var incident = new Incident(TestAlerts.Exec("/usr/bin/curl", 10) with { Severity = Severity.Medium }, DateTimeOffset.UtcNow);
        var first = Alerts(sink.Render(incident.Snapshot()));
        Assert.Single(first);

        incident.Add(TestAlerts.Exec("/bin/sh", 11) with { Severity = Severity.Critical });
        var second = Alerts(sink.Render(incident.Snapshot()));

        Assert.Equal(2, second.Count);
        var (old, now) = (second[0], second[1]);
        Assert.Equal("medium", old.GetProperty("labels").GetProperty("severity").GetString());
        Assert.True(old.GetProperty("endsAt").GetDateTimeOffset() <= DateTimeOffset.UtcNow, "the superseded labels are resolved now");
        Assert.Equal("critical", now.GetProperty("labels").GetProperty("severity").GetString());
        Assert.True(now.GetProperty("endsAt").GetDateTimeOffset() > DateTimeOffset.UtcNow, "the new version fires");
        Assert.Equal(incident.Id, now.GetProperty("labels").GetProperty("incident").GetString());
    }

    [Fact]
    public void Render_NextVersionWithTheSameLabels_IsOneAlert()
    {
        var sink = Sink();
        var incident = new Incident(TestAlerts.Exec("/bin/sh", 10), DateTimeOffset.UtcNow);
        sink.Render(incident.Snapshot());
        incident.Add(TestAlerts.Exec("/bin/sh", 12));

        Assert.Single(Alerts(sink.Render(incident.Snapshot())));
    }
}
