using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Alerting;

/// <summary>One human-readable line per incident on standard output, for <c>kubectl logs</c> and the demo.</summary>
internal sealed class ConsoleAlertSink(TextWriter? output = null) : IAlertSink
{
    private readonly TextWriter _out = output ?? Console.Out;

    public string Name => "console";

    public static string Format(Incident i)
    {
        var mitre = i.Primary.Mitre is { } m ? $" [{m.TechniqueId}]" : "";
        var count = i.Count > 1 ? $" ({i.Count} alerts: {string.Join(", ", i.Categories)})" : "";
        var status = i.Status == IncidentStatus.Firing ? "ALERT" : i.Status == IncidentStatus.Updated ? "UPDATE" : "RESOLVED";
        return $"{status} {i.LastSeen.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ} {i.Severity.ToWire().ToUpperInvariant(),-8} {i.Category,-19} {i.Workload.Value} node={string.Join(",", i.Nodes.DefaultIfEmpty("-"))} score={i.Primary.Score:0.00}>{i.Primary.Threshold:0.00}{mitre} {i.Primary.Summary}{count}{(i.Note is null ? "" : " — " + i.Note)}";
    }

    // One line per incident, whatever the event fields held (see ControlCharacters).
    public byte[] Render(Incident incident) => Encoding.UTF8.GetBytes(Core.Text.ControlCharacters.Escape(Format(incident)) + "\n");

    public async ValueTask SendAsync(IReadOnlyList<byte[]> items, CancellationToken cancellationToken)
    {
        var sb = new StringBuilder();
        foreach (var i in items)
        {
            sb.Append(Encoding.UTF8.GetString(i));
        }

        await _out.WriteAsync(sb, cancellationToken).ConfigureAwait(false);
        await _out.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Appends incidents as JSON lines (schema <c>Alerting:Schema</c>, sentinel.alert/v2 by default) to a file; flushed after every batch.</summary>
internal sealed class JsonLinesFileAlertSink(string path, string? runbookTemplate = null, IncidentSchema schema = IncidentSchema.Sentinel) : IAlertSink
{
    public string FilePath { get; } = path;

    public string Name => "file";

    public byte[] Render(Incident incident) => [.. IncidentSchemas.ToUtf8(incident, schema, runbookTemplate), (byte)'\n'];

    public async ValueTask SendAsync(IReadOnlyList<byte[]> items, CancellationToken cancellationToken)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(FilePath));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        await using var stream = new FileStream(FilePath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 64 * 1024, useAsync: true);
        foreach (var item in items)
        {
            await stream.WriteAsync(item, cancellationToken).ConfigureAwait(false);
        }

        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Base for HTTP sinks: POST a JSON body, treat any non-2xx as a failure (the pipeline retries).</summary>
/// <param name="http">
/// A client per delivery (from <c>IHttpClientFactory</c> in the daemon): the factory recycles handlers, so a receiver
/// whose address changes (a rolled-out Alertmanager Service) is found again without a restart.
/// </param>
internal abstract class HttpAlertSink(Func<HttpClient> http) : IAlertSink
{
    protected HttpClient Http => http();

    public abstract string Name { get; }

    public abstract byte[] Render(Incident incident);

    public async ValueTask SendAsync(IReadOnlyList<byte[]> items, CancellationToken cancellationToken)
    {
        using var request = CreateRequest(Body(items));
        using var response = await Http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new HttpRequestException($"{Name}: HTTP {(int)response.StatusCode} {text[..Math.Min(text.Length, 200)]}");
        }
    }

    protected virtual byte[] Body(IReadOnlyList<byte[]> items) => JsonArray(items);

    protected abstract HttpRequestMessage CreateRequest(byte[] body);

    protected static byte[] JsonArray(IReadOnlyList<byte[]> items)
    {
        using var ms = new MemoryStream();
        ms.WriteByte((byte)'[');
        for (var i = 0; i < items.Count; i++)
        {
            if (i > 0)
            {
                ms.WriteByte((byte)',');
            }

            ms.Write(items[i]);
        }

        ms.WriteByte((byte)']');
        return ms.ToArray();
    }

    protected static HttpRequestMessage Post(string url, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
    }
}

/// <summary>
/// Generic webhook: POSTs a JSON array of incidents (schema <c>Alerting:Schema</c>, sentinel.alert/v2 by default). With a secret, <c>X-Sentinel-Timestamp: &lt;unix
/// seconds&gt;</c> and <c>X-Sentinel-Signature: sha256=&lt;hex HMAC-SHA256(secret, timestamp + "." + body)&gt;</c> let
/// the receiver verify origin and integrity and refuse replays (a signed body re-sent later carries an old timestamp).
/// </summary>
internal sealed class WebhookAlertSink(Func<HttpClient> http, WebhookOptions options, string? runbookTemplate, TimeProvider time, IncidentSchema schema = IncidentSchema.Sentinel) : HttpAlertSink(http)
{
    public const string SignatureHeader = "X-Sentinel-Signature";
    public const string TimestampHeader = "X-Sentinel-Timestamp";

    private readonly byte[]? _secret = LoadSecret(options);
    private readonly string _url = options.ResolveUrl();

    public override string Name => "webhook";

    public override byte[] Render(Incident incident) => IncidentSchemas.ToUtf8(incident, schema, runbookTemplate);

    /// <summary>The signature over <c>timestamp + "." + body</c>, as the receiver recomputes it.</summary>
    public static string Sign(byte[] secret, long unixSeconds, byte[] body)
    {
        var prefix = Encoding.ASCII.GetBytes(unixSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed, prefix.Length);
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(secret, signed));
    }

    protected override HttpRequestMessage CreateRequest(byte[] body)
    {
        var request = Post(_url, body);
        if (_secret is not null)
        {
            var ts = time.GetUtcNow().ToUnixTimeSeconds();
            request.Headers.Add(TimestampHeader, ts.ToString(System.Globalization.CultureInfo.InvariantCulture));
            request.Headers.Add(SignatureHeader, Sign(_secret, ts, body));
        }

        return request;
    }

    private static byte[]? LoadSecret(WebhookOptions o)
    {
        var secret = !string.IsNullOrEmpty(o.SecretFile) ? File.ReadAllText(o.SecretFile).TrimEnd('\r', '\n') : o.Secret;
        return string.IsNullOrEmpty(secret) ? null : Encoding.UTF8.GetBytes(secret);
    }
}

/// <summary>
/// Prometheus Alertmanager, API v2 (<c>POST /api/v2/alerts</c>). Labels identify the incident (Alertmanager groups
/// and de-duplicates on them; re-sends of an open incident refresh the same alert); annotations carry the text.
/// </summary>
/// <param name="time">The clock of <c>endsAt</c>: an incident fires until its window would end, counted from rendering.</param>
internal sealed class AlertmanagerAlertSink(Func<HttpClient> http, EndpointOptions options, string? runbookTemplate, AlertingOptions alerting, TimeProvider time) : HttpAlertSink(http)
{
    public override string Name => "alertmanager";

    // Labels are an alert's identity in Alertmanager. An incident's next version can change some (its severity rises,
    // its primary alert and so category or technique changes): sent as is, it would be a second alert beside the
    // first, which would fire on until it expired. So the labels last sent per open incident are remembered (bounded),
    // and a version with other labels also resolves the previous ones.
    private const int RememberedIncidents = 10_000;
    private readonly Dictionary<string, byte[]> _sentLabels = new(StringComparer.Ordinal);
    private readonly Queue<string> _sentOrder = new();
    private readonly Lock _gate = new();

    public override byte[] Render(Incident incident)
    {
        var i = incident;
        var labels = Labels(i);
        var now = time.GetUtcNow();
        var alert = Alert(i, labels, (i.Status == IncidentStatus.Resolved ? now : now + alerting.IncidentWindow).UtcDateTime);
        var previous = Remember(i.Id, labels, i.Status == IncidentStatus.Resolved);
        if (previous is null || previous.AsSpan().SequenceEqual(labels))
        {
            return alert;
        }

        // One item, two alerts: the HTTP body joins items into one JSON array.
        return [.. Resolved(i, previous, now), (byte)',', .. alert];
    }

    private byte[]? Remember(string id, byte[] labels, bool resolved)
    {
        lock (_gate)
        {
            _sentLabels.TryGetValue(id, out var previous);
            if (resolved)
            {
                _sentLabels.Remove(id);
                return previous;
            }

            if (previous is null)
            {
                if (_sentLabels.Count >= RememberedIncidents)
                {
                    while (_sentOrder.TryDequeue(out var oldest) && !_sentLabels.Remove(oldest))
                    {
                        // Already resolved and forgotten: keep looking for one still remembered.
                    }
                }

                _sentOrder.Enqueue(id);
            }

            _sentLabels[id] = labels;
            return previous;
        }
    }

    private static byte[] Labels(Incident i)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("alertname", "RuntimeSentinel" + Pascal(i.Category));
            w.WriteString("severity", i.Severity.ToWire());
            w.WriteString("category", i.Category);
            w.WriteString("cluster", Core.Text.ControlCharacters.Escape(i.Workload.Cluster));
            w.WriteString("namespace", Core.Text.ControlCharacters.Escape(i.Workload.Namespace));
            w.WriteString("workload", Core.Text.ControlCharacters.Escape(i.Workload.OwnerKind + "/" + i.Workload.OwnerName));
            w.WriteString("container", Core.Text.ControlCharacters.Escape(i.Workload.Container));
            w.WriteString("incident", i.Id);
            if (i.Primary.Mitre is { } m)
            {
                w.WriteString("mitre_technique", m.TechniqueId);
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The previous labels of an incident, resolved now (superseded by its new version's labels).</summary>
    private static byte[] Resolved(Incident i, byte[] labels, DateTimeOffset now)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(labels.Length + 128);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WritePropertyName("labels");
            w.WriteRawValue(labels, skipInputValidation: true);
            w.WriteString("startsAt", i.FirstSeen.UtcDateTime);
            w.WriteString("endsAt", now.UtcDateTime);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private byte[] Alert(Incident i, byte[] labels, DateTime endsAt)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WritePropertyName("labels");
            w.WriteRawValue(labels, skipInputValidation: true);
            w.WriteStartObject("annotations");
            // Annotations are shown as text (Alertmanager's UI, amtool, the e-mails and chats it routes to): escaped.
            w.WriteString("summary", Core.Text.ControlCharacters.Escape(i.Primary.Summary));
            w.WriteString("description", Core.Text.ControlCharacters.Escape($"{i.Count} alert(s) [{string.Join(", ", i.Categories)}] on pods {string.Join(", ", i.Pods)}; score {i.Primary.Score:0.00} over threshold {i.Primary.Threshold:0.00}. {i.Primary.Explanation.Reason}.{(i.Note is null ? "" : " " + i.Note)}"));
            w.WriteString("count", i.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("fingerprint", i.Fingerprint);
            if (i.Primary.Mitre is { } mm)
            {
                w.WriteString("mitre", $"{mm.TechniqueId} {mm.Name} ({mm.Tactic})");
            }

            var runbook = IncidentJsonWriter.RunbookUrl(runbookTemplate, i);
            if (runbook.Length > 0)
            {
                w.WriteString("runbook_url", runbook);
            }

            w.WriteEndObject();
            w.WriteString("startsAt", i.FirstSeen.UtcDateTime);

            // Firing until the incident window ends; Alertmanager resolves it then unless it is re-sent.
            w.WriteString("endsAt", endsAt);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private readonly string _url = options.ResolveUrl().TrimEnd('/') + "/api/v2/alerts";

    protected override HttpRequestMessage CreateRequest(byte[] body) => Post(_url, body);

    private static string Pascal(string snake) => string.Concat(snake.Split('_').Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..]));
}

/// <summary>
/// Slack-compatible incoming webhook: one message per batch, one line per incident. Everything taken from an alert
/// (summaries carry paths, arguments and names an attacker chose) is escaped for Slack's mrkdwn (<c>&amp;</c>,
/// <c>&lt;</c>, <c>&gt;</c>), so it cannot become a link, a mention or markup. The URL is a secret: give
/// <c>Alerting:Slack:UrlFile</c>.
/// </summary>
internal sealed class SlackAlertSink(Func<HttpClient> http, EndpointOptions options, string? runbookTemplate) : HttpAlertSink(http)
{
    private readonly string _url = options.ResolveUrl();

    public override string Name => "slack";

    public override byte[] Render(Incident incident)
    {
        var i = incident;
        var runbook = IncidentJsonWriter.RunbookUrl(runbookTemplate, i);
        var text = $"*{i.Severity.ToWire().ToUpperInvariant()}* `{Escape(i.Category)}` {Escape(i.Primary.Summary)}" +
            (i.Count > 1 ? $" ({i.Count} alerts)" : "") + (i.Primary.Mitre is { } m ? $" — {m.TechniqueId} {Escape(m.Name)}" : "") + (runbook.Length > 0 ? $" <{Escape(runbook).Replace("|", "%7C", StringComparison.Ordinal)}|runbook>" : "");
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>
    /// Slack's control characters in message text (its formatting reference): &amp;, &lt; and &gt;; and control
    /// characters, so a newline in a name cannot start a line of its own.
    /// </summary>
    public static string Escape(string text) => Core.Text.ControlCharacters.Escape(text).Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    protected override byte[] Body(IReadOnlyList<byte[]> items) =>
        JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["text"] = string.Join("\n", items.Select(Encoding.UTF8.GetString)) });

    protected override HttpRequestMessage CreateRequest(byte[] body) => Post(_url, body);
}
