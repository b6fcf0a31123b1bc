namespace RuntimeSentinel.Alerting;

/// <summary>Alert delivery settings (config section <c>Alerting</c>).</summary>
public sealed class AlertingOptions
{
    public const string SectionName = "Alerting";

    /// <summary>Print one readable line per alert on standard output.</summary>
    public bool Console { get; set; } = true;

    /// <summary>Append alerts as JSON lines to this file (created if missing). Empty: no file sink.</summary>
    public string? File { get; set; }

    /// <summary>Alerts waiting for delivery. When full, new alerts are dropped and counted, never blocking detection.</summary>
    public int QueueCapacity { get; set; } = 10_000;

    public int MaxBatchSize { get; set; } = 256;
}
