using System.Globalization;
using System.Net;
using System.Text.Json;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Core.Alerts;

/// <summary>
/// Serialises an incident emission as an Elastic Common Schema alert document (<c>event.kind: alert</c>, ECS 9.4.0;
/// docs/alerts.md has the mapping). ECS describes one process, one file, one connection per document: they come from
/// the incident's evidence (the primary finding's first, then the first of the other findings that has one), and the
/// whole incident — every finding, the scores, the baseline, the workload — sits under <c>runtime_sentinel.*</c>, the
/// custom namespace ECS advises for fields of one's own. Field values from events are JSON strings (escaped by the
/// writer); addresses that are not IPs are left out of <c>ip</c> fields.
/// </summary>
internal static class EcsAlertWriter
{
    /// <summary>The ECS release the documents follow (the <c>@elastic/ecs</c> package the validator test reads).</summary>
    public const string EcsVersion = "9.4.0";

    public static byte[] ToUtf8(Incident incident, string? runbookTemplate)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(8192);
        using (var w = new Utf8JsonWriter(buffer))
        {
            Write(w, incident, runbookTemplate);
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static void Write(Utf8JsonWriter w, Incident i, string? runbookTemplate)
    {
        var p = i.Primary;
        var evidence = SiemFields.Evidence(i);
        var runbook = IncidentJsonWriter.RunbookUrl(runbookTemplate, i);
        w.WriteStartObject();
        w.WriteString("@timestamp", i.LastSeen.UtcDateTime);
        w.WriteString("message", SiemFields.Message(i));
        w.WriteStartObject("ecs");
        w.WriteString("version", EcsVersion);
        w.WriteEndObject();
        WriteEvent(w, i);
        WriteRule(w, p, runbook);
        WriteThreat(w, i);
        EcsEvidenceWriter.Write(w, i, evidence);
        w.WriteStartObject("observer");
        w.WriteString("vendor", SiemFields.VendorName);
        w.WriteString("product", SiemFields.ProductName);
        w.WriteString("version", SiemFields.ProductVersion);
        w.WriteEndObject();
        EcsExplanationWriter.Write(w, i);
        w.WriteEndObject();
    }

    private static void WriteEvent(Utf8JsonWriter w, Incident i)
    {
        w.WriteStartObject("event");
        w.WriteString("kind", "alert");
        var kinds = i.Categories.Prepend(i.Category).Select(Categorize).Distinct().ToList();
        w.WriteStartArray("category");
        foreach (var c in kinds.Select(k => k.Category).Distinct(StringComparer.Ordinal))
        {
            w.WriteStringValue(c);
        }

        w.WriteEndArray();
        w.WriteStartArray("type");
        foreach (var t in kinds.Select(k => k.Type).Distinct(StringComparer.Ordinal))
        {
            w.WriteStringValue(t);
        }

        w.WriteEndArray();
        w.WriteNumber("severity", SiemFields.SeverityId(i.Severity));
        w.WriteString("id", $"{i.Id}/{i.Version}");
        w.WriteString("action", i.Status switch { IncidentStatus.Firing => "incident-opened", IncidentStatus.Updated => "incident-updated", _ => "incident-closed" });
        w.WriteString("code", i.Category);
        w.WriteString("module", "runtime_sentinel");
        w.WriteString("dataset", "runtime_sentinel.incident");
        w.WriteString("provider", "runtime-sentinel");
        w.WriteNumber("sequence", i.Version);
        w.WriteString("start", i.FirstSeen.UtcDateTime);
        w.WriteString("end", i.LastSeen.UtcDateTime);
        w.WriteNumber("duration", (i.LastSeen - i.FirstSeen).Ticks * 100); // nanoseconds
        w.WriteString("reason", i.Primary.Explanation.Reason);
        w.WriteEndObject();
    }

    /// <summary>
    /// The ECS category and type of what an alert category is about. Rates, volumes and behaviour windows of the
    /// workload's processes are <c>process</c>/<c>info</c> (ECS has no category for an anomaly as such; <c>host</c> is
    /// for the host itself).
    /// </summary>
    internal static (string Category, string Type) Categorize(string category) => category switch
    {
        AlertCategories.UnexpectedProcess or AlertCategories.UnexpectedLineage or AlertCategories.ContainerAdded => ("process", "start"),
        AlertCategories.UnexpectedFile => ("file", "access"),
        AlertCategories.UnexpectedNetwork or AlertCategories.PeerVolume or AlertCategories.PeerRate or AlertCategories.FailedSessions => ("network", "connection"),
        AlertCategories.UnexpectedDns => ("network", "protocol"),
        AlertCategories.UnexpectedListen => ("network", "start"),
        AlertCategories.RateSpike => ("network", "info"),
        AlertCategories.SensorAlert or AlertCategories.AlertBudgetExceeded => ("intrusion_detection", "info"),
        _ => ("process", "info"),
    };

    private static void WriteRule(Utf8JsonWriter w, Alert p, string runbook)
    {
        w.WriteStartObject("rule");
        w.WriteString("id", $"{p.Detector}/{p.Category}");
        w.WriteString("name", p.Category);
        w.WriteString("category", p.Category);
        w.WriteString("ruleset", p.Detector);
        if (AlertCategories.Find(p.Category) is { } entry)
        {
            w.WriteString("description", entry.Description);
        }

        if (p.ModelVersion is not null)
        {
            w.WriteString("version", p.ModelVersion);
        }

        if (runbook.Length > 0)
        {
            w.WriteString("reference", runbook);
        }

        w.WriteEndObject();
    }

    /// <summary>ECS keeps techniques as parallel keyword arrays; each list is distinct in the order the findings name them.</summary>
    private static void WriteThreat(Utf8JsonWriter w, Incident i)
    {
        var attacks = AttackReferences.Of(i);
        if (attacks.Count == 0)
        {
            return;
        }

        w.WriteStartObject("threat");
        w.WriteString("framework", AttackReference.Framework);
        var tactics = attacks.DistinctBy(a => a.TacticId).ToList();
        w.WriteStartObject("tactic");
        Strings(w, "id", tactics.Select(a => a.TacticId));
        Strings(w, "name", tactics.Select(a => a.TacticName));
        Strings(w, "reference", tactics.Select(a => a.TacticUrl));
        w.WriteEndObject();
        var techniques = attacks.DistinctBy(a => a.TechniqueId).ToList();
        w.WriteStartObject("technique");
        Strings(w, "id", techniques.Select(a => a.TechniqueId));
        Strings(w, "name", techniques.Select(a => a.TechniqueName));
        Strings(w, "reference", techniques.Select(a => a.TechniqueUrl));
        var subs = attacks.Where(a => a.SubTechniqueId is not null).DistinctBy(a => a.SubTechniqueId).ToList();
        if (subs.Count > 0)
        {
            w.WriteStartObject("subtechnique");
            Strings(w, "id", subs.Select(a => a.SubTechniqueId!));
            Strings(w, "name", subs.Select(a => a.SubTechniqueName!));
            Strings(w, "reference", subs.Select(a => a.SubTechniqueUrl!));
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    internal static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }

        w.WriteEndArray();
    }

    internal static bool IsIp(string? s) => s is not null && IPAddress.TryParse(s, out _);

    internal static string Invariant(long v) => v.ToString(CultureInfo.InvariantCulture);
}
