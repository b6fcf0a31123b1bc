using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Alerting.Tests.Siem;

/// <summary><c>Alerting:Schema</c> and its per-sink overrides: which document each JSON sink renders, and start-up refusing unknown values.</summary>
public sealed class SchemaSinkTests : IDisposable
{
    private readonly TempFolder _temp = new("alerting-schema-");

    public void Dispose() => _temp.Dispose();

    private ServiceProvider Services(Dictionary<string, string?> settings)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Alerting:File"] = _temp["incidents.jsonl"],
            ["Alerting:Webhook:Url"] = "http://127.0.0.1:9/hook",
            ["Alerting:SpillDirectory"] = _temp["spill"],
        }.Concat(settings).ToDictionary(kv => kv.Key, kv => kv.Value)).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<Prometheus.IMetricFactory>(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        services.AddSentinelAlerting(config);
        return services.BuildServiceProvider();
    }

    private static JsonElement Json(byte[] rendered) => JsonDocument.Parse(rendered).RootElement;

    [Fact]
    public void Render_NoSchemaConfigured_EverySinkRendersWhatItDidBefore()
    {
        using var sp = Services([]);
        var incident = SiemIncidents.ShellTree();
        var sinks = sp.GetServices<IAlertSink>().ToDictionary(s => s.Name);
        Assert.Equal([.. IncidentJsonWriter.ToUtf8(incident, null), (byte)'\n'], sinks["file"].Render(incident));
        Assert.Equal(IncidentJsonWriter.ToUtf8(incident, null), sinks["webhook"].Render(incident));
        Assert.StartsWith("ALERT ", Encoding.UTF8.GetString(sinks["console"].Render(incident)), StringComparison.Ordinal);
    }

    [Fact]
    public void Render_SchemaWithAWebhookOverride_FileRendersOcsfWebhookEcsConsoleItsLine()
    {
        using var sp = Services(new() { ["Alerting:Schema"] = "ocsf", ["Alerting:Schemas:webhook"] = "ECS" });
        var incident = SiemIncidents.ShellTree();
        var sinks = sp.GetServices<IAlertSink>().ToDictionary(s => s.Name);
        var file = sinks["file"].Render(incident);
        Assert.Equal((byte)'\n', file[^1]);
        Assert.Equal(2004, Json(file[..^1]).GetProperty("class_uid").GetInt32());
        Assert.Equal("alert", Json(sinks["webhook"].Render(incident)).GetProperty("event").GetProperty("kind").GetString());
        Assert.StartsWith("ALERT ", Encoding.UTF8.GetString(sinks["console"].Render(incident)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_WebhookWithEcs_PostsASignedArrayOfEcsDocuments()
    {
        var endpoint = new CapturingHandler();
        using var http = endpoint.Client();
        var clock = new TestClock();
        var webhook = new WebhookAlertSink(() => http, new WebhookOptions { Url = "http://127.0.0.1:9/hook", Secret = "k" }, null, clock, IncidentSchema.Ecs);
        var first = SiemIncidents.ShellTree();
        var second = SiemIncidents.ShellTree(IncidentStatus.Updated, 2);
        await webhook.SendAsync([webhook.Render(first), webhook.Render(second)], default);

        var request = Assert.Single(endpoint.Requests);
        var body = JsonDocument.Parse(request.Body).RootElement;
        Assert.Equal(["incident-opened", "incident-updated"], body.EnumerateArray().Select(d => d.GetProperty("event").GetProperty("action").GetString()));
        var ts = clock.GetUtcNow().ToUnixTimeSeconds();
        Assert.Equal(WebhookAlertSink.Sign("k"u8.ToArray(), ts, Encoding.UTF8.GetBytes(request.Body)), request.Headers[WebhookAlertSink.SignatureHeader]);
    }

    [Fact]
    public void Validate_UnknownSchemaOrSink_ReportsEachNamingTheOption()
    {
        var result = new AlertingOptionsValidator().Validate(null, new AlertingOptions
        {
            Schema = "xml",
            Schemas = new(StringComparer.OrdinalIgnoreCase) { ["Kafka"] = "splunk", ["Slack"] = "ocsf", ["File"] = "" },
        });

        string[] expected =
        [
            "Alerting:Schema 'xml' is not a schema: use sentinel, ocsf, ecs.",
            "Alerting:Schemas:Kafka 'splunk' is not a schema: use sentinel, ocsf, ecs.",
            "Alerting:Schemas:Slack: only File, Webhook, Kafka render a document schema (the console, Alertmanager and Slack keep their own forms).",
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), result.Failures!.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Start_UnknownSchemaInConfiguration_FailsOptionsValidationNamingIt()
    {
        using var sp = Services(new() { ["Alerting:Schemas:File"] = "json" });
        var error = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<AlertingOptions>>().Value);
        Assert.Contains("Alerting:Schemas:File 'json' is not a schema: use sentinel, ocsf, ecs.", error.Failures);
    }
}
