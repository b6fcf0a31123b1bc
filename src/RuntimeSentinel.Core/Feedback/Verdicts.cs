namespace RuntimeSentinel.Core.Feedback;

/// <summary>How far an analyst's verdict may reach: a whole feature only for a while; a verdict for a workload not seen yet only so long.</summary>
public sealed record VerdictLimits(TimeSpan MaxFeatureAcceptance, TimeSpan PendingTtl);

/// <summary>What the audit says about one verdict: who, on what, and what became of it (applied, pending, rejected and why).</summary>
public sealed class VerdictAudit
{
    public string Verdict { get; set; } = "unknown";

    public string Analyst { get; set; } = "";

    public bool Signed { get; set; }

    public string Reason { get; set; } = "";

    public string Workload { get; set; } = "";

    public string Scope { get; set; } = "";

    public string Feature { get; set; } = "";

    public string Item { get; set; } = "";

    public string Result { get; set; } = "rejected";

    public string Detail { get; set; } = "";

    public void Reject(string why)
    {
        Result = "rejected";
        Detail = why;
    }
}

/// <summary>
/// Applies an analyst's verdict that transport has already checked (size, signature, a JSON object): reads and
/// validates it, hands it to whoever owns the workload's state, and fills the audit with what became of it. Ingestion
/// knows this contract only, not detection's types.
/// </summary>
public interface IVerdictHandler
{
    /// <param name="root">The verdict, a JSON object; untrusted.</param>
    /// <param name="signer">The analyst whose key signed it; null when unsigned verdicts are allowed.</param>
    /// <param name="published">When it was published: expiry horizons count from here.</param>
    Task ApplyAsync(System.Text.Json.JsonElement root, string? signer, DateTimeOffset published, VerdictLimits limits, VerdictAudit audit);
}
