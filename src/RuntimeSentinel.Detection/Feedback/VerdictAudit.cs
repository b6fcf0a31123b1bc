namespace RuntimeSentinel.Detection.Feedback;

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
