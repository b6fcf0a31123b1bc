namespace RuntimeSentinel.Core.Alerts;

/// <summary>
/// The document schema an incident is delivered in (<c>Alerting:Schema</c>): our own <c>sentinel.alert/v2</c>, an
/// OCSF Detection Finding, or an Elastic Common Schema alert document. Only the JSON sinks (file, webhook, Kafka)
/// choose one; the console, Alertmanager and Slack have forms of their own.
/// </summary>
public enum IncidentSchema : byte
{
    Sentinel,
    Ocsf,
    Ecs,
}

/// <summary>Names, wire identifiers and rendering of <see cref="IncidentSchema"/>.</summary>
public static class IncidentSchemas
{
    /// <summary>The configuration values, in the order the documentation lists them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["sentinel", "ocsf", "ecs"];

    /// <summary>The configuration value of a schema.</summary>
    public static string Name(this IncidentSchema schema) => Names[(int)schema];

    /// <summary>
    /// A configured value (case-insensitive); false for anything else. Empty is not a schema: a caller that allows
    /// "not set" checks for it first.
    /// </summary>
    public static bool TryParse(string? value, out IncidentSchema schema)
    {
        for (var i = 0; i < Names.Count; i++)
        {
            if (string.Equals(value?.Trim(), Names[i], StringComparison.OrdinalIgnoreCase))
            {
                schema = (IncidentSchema)i;
                return true;
            }
        }

        schema = IncidentSchema.Sentinel;
        return false;
    }

    /// <summary>
    /// What a consumer reads to know the document's schema before parsing it (the Kafka header
    /// <c>sentinel-alert-schema</c>): <c>sentinel.alert/v2</c>, <c>ocsf/1.9.0-dev/detection_finding</c>, <c>ecs/9.4.0</c>.
    /// </summary>
    public static string WireId(this IncidentSchema schema) => schema switch
    {
        IncidentSchema.Ocsf => $"ocsf/{OcsfDetectionFindingWriter.OcsfVersion}/detection_finding",
        IncidentSchema.Ecs => $"ecs/{EcsAlertWriter.EcsVersion}",
        _ => Incident.SchemaId,
    };

    /// <summary>One incident emission as a JSON document of the schema (UTF-8, no trailing newline).</summary>
    public static byte[] ToUtf8(Incident incident, IncidentSchema schema, string? runbookTemplate) => schema switch
    {
        IncidentSchema.Ocsf => OcsfDetectionFindingWriter.ToUtf8(incident, runbookTemplate),
        IncidentSchema.Ecs => EcsAlertWriter.ToUtf8(incident, runbookTemplate),
        _ => IncidentJsonWriter.ToUtf8(incident, runbookTemplate),
    };
}
