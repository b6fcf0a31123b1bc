using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Alerting;

/// <summary>Alert delivery settings (config section <c>Alerting</c>).</summary>
public sealed class AlertingOptions
{
    public const string SectionName = "Alerting";

    /// <summary>
    /// <c>processing</c> (default): incident grouping, windows and budgets follow the daemon's clock. <c>event</c>: they
    /// follow the alerts' event time (replays and evaluations of recorded streams, with <c>Detection:Clock=event</c>).
    /// </summary>
    public string Clock { get; set; } = "processing";

    /// <summary>Print one readable line per incident on standard output.</summary>
    public bool Console { get; set; } = true;

    /// <summary>Append incidents as JSON lines to this file (created if missing). Empty: no file sink.</summary>
    public string? File { get; set; }

    /// <summary>
    /// The document schema of the JSON sinks (file, webhook, Kafka): <c>sentinel</c> (<c>sentinel.alert/v2</c>),
    /// <c>ocsf</c> (OCSF Detection Finding) or <c>ecs</c> (Elastic Common Schema). The console, Alertmanager and Slack
    /// keep their own forms.
    /// </summary>
    public string Schema { get; set; } = "sentinel";

    /// <summary>
    /// Per-sink overrides of <see cref="Schema"/>, keyed by sink: <c>File</c>, <c>Webhook</c>, <c>Kafka</c>
    /// (<c>Alerting:Schemas:Kafka=ocsf</c> feeds a SIEM from the topic while the file keeps <c>sentinel</c>).
    /// </summary>
    public Dictionary<string, string> Schemas { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The sinks that render a document schema (keys of <see cref="Schemas"/>).</summary>
    public static readonly string[] SchemaSinks = ["File", "Webhook", "Kafka"];

    /// <summary>The schema a JSON sink renders (validated at start-up; an invalid value here is a programming error).</summary>
    public IncidentSchema SchemaFor(string sink)
    {
        var (key, value) = Schemas.TryGetValue(sink, out var own) && !string.IsNullOrWhiteSpace(own) ? ($"Alerting:Schemas:{sink}", own) : ("Alerting:Schema", Schema);
        return IncidentSchemas.TryParse(value, out var schema) ? schema
            : throw new InvalidOperationException($"{key} '{value}' is not a schema: use {string.Join(", ", IncidentSchemas.Names)}.");
    }

    /// <summary>
    /// Whether an incident that ends (<see cref="IncidentWindow"/> without a new alert) is emitted once more as resolved,
    /// even with nothing new in it. A SIEM needs that ending (OCSF activity Close, ECS <c>kibana.alert.status</c>-style
    /// state) to close its finding, so null (the default) means: on when any JSON sink renders <c>ocsf</c> or <c>ecs</c>.
    /// Otherwise an incident is emitted as resolved only when alerts were still unsent at its end.
    /// </summary>
    public bool? EmitResolved { get; set; }

    /// <summary><see cref="EmitResolved"/> as configured, or as the sinks' schemas imply.</summary>
    public bool ResolvesIncidents =>
        EmitResolved ?? SchemaSinks.Any(sink => IncidentSchemas.TryParse(Schemas.TryGetValue(sink, out var own) && !string.IsNullOrWhiteSpace(own) ? own : Schema, out var s) && s != IncidentSchema.Sentinel);

    /// <summary>Alerts waiting for correlation. When full, new alerts are dropped and counted, never blocking detection.</summary>
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>Incidents queued per sink in memory before they are spilled to disk.</summary>
    public int SinkQueueCapacity { get; set; } = 10_000;

    public int MaxBatchSize { get; set; } = 100;

    /// <summary>How long a sink waits for more incidents before sending a partial batch.</summary>
    public TimeSpan BatchDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Quick retries of a failed batch before it is spilled to disk.</summary>
    public int RetryAttempts { get; set; } = 3;

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest pause between delivery attempts while a sink is down.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Where undeliverable batches wait (one sub-directory per sink); replayed in order on recovery and restart.</summary>
    public string SpillDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "runtime-sentinel", "spill");

    /// <summary>Spill bound per sink; beyond it the oldest spilled batches are dropped and counted.</summary>
    public long SpillMaxBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>New incidents wait this long for related alerts before they are first sent (like Alertmanager's group_wait).</summary>
    public TimeSpan IncidentGroupWait { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// An alert that names no process (a resource anomaly) or judges a whole behaviour window joins the workload's
    /// latest incident when what it shows happened within this long of what the incident's alerts showed (the sensor's
    /// event time, so neither a busy dispatcher nor a lagging shard joins or splits episodes): the miner's CPU spike
    /// belongs with the miner. A model confirms over windows, so this spans a few of them.
    /// </summary>
    public TimeSpan ProcesslessJoinWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>An open incident with new alerts is re-sent at most this often (at once when they raise it to high or critical).</summary>
    public TimeSpan IncidentGroupInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>An incident closes after this long without new alerts; later repeats open a new one.</summary>
    public TimeSpan IncidentWindow { get; set; } = TimeSpan.FromMinutes(10);

    public int MaxOpenIncidents { get; set; } = 10_000;

    /// <summary>Incidents sent per workload per hour; more are held back and summarised, never silently dropped.</summary>
    public int MaxIncidentsPerWorkloadPerHour { get; set; } = 30;

    /// <summary>Incidents sent per minute across all workloads.</summary>
    public int MaxIncidentsPerMinute { get; set; } = 120;

    /// <summary>JSON suppression rules (docs/alerts.md, "Suppression"); reloaded when it changes.</summary>
    public string? SuppressionFile { get; set; }

    public TimeSpan SuppressionReloadInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Runbook link per incident; <c>{category}</c> and <c>{technique}</c> are replaced.</summary>
    public string? RunbookUrlTemplate { get; set; }

    /// <summary>Process arguments are redacted by these patterns before any alert leaves the daemon.</summary>
    public RedactionOptions Redact { get; set; } = new();

    public WebhookOptions Webhook { get; set; } = new();

    public EndpointOptions Alertmanager { get; set; } = new();

    public EndpointOptions Slack { get; set; } = new();
}

public class EndpointOptions
{
    /// <summary>Empty (and no <see cref="UrlFile"/>): the sink is off.</summary>
    public string? Url { get; set; }

    /// <summary>A file holding the URL, for URLs that are secrets (a Slack incoming webhook): a mounted Secret.</summary>
    public string? UrlFile { get; set; }

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    public bool Enabled => !string.IsNullOrWhiteSpace(Url) || !string.IsNullOrWhiteSpace(UrlFile);

    /// <summary>The URL, from <see cref="UrlFile"/> when given (read once, at start-up).</summary>
    public string ResolveUrl() => !string.IsNullOrWhiteSpace(UrlFile) ? File.ReadAllText(UrlFile).Trim() : Url ?? "";
}

public sealed class WebhookOptions : EndpointOptions
{
    /// <summary>HMAC-SHA256 key for the <c>X-Sentinel-Signature</c> header; prefer <see cref="SecretFile"/>.</summary>
    public string? Secret { get; set; }

    public string? SecretFile { get; set; }
}

/// <summary>What is blanked out of process arguments in alerts (config section <c>Alerting:Redact</c>).</summary>
public sealed class RedactionOptions
{
    /// <summary>Apply the built-in patterns (passwords, tokens, keys and bearer credentials in arguments).</summary>
    public bool Defaults { get; set; } = true;

    /// <summary>More .NET regular expressions; each match in an argument string becomes <c>[REDACTED]</c>.</summary>
    public List<string> Patterns { get; set; } = [];
}
