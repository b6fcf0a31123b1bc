using System.Text.Json;
using RuntimeSentinel.TestCommon;
using RuntimeSentinel.TestCommon.Siem;

namespace RuntimeSentinel.Alerting.Tests.Siem;

/// <summary>The example documents of docs/alerts.md (SIEM schemas) stay valid in their schema as the writers change.</summary>
public class DocsExampleTests
{
    private static JsonDocument Example(string summary)
    {
        var text = File.ReadAllText(Path.Combine(Datasets.RepoRoot, "docs", "alerts.md"));
        var at = text.IndexOf($"<summary>{summary}</summary>", StringComparison.Ordinal);
        Assert.True(at >= 0, $"docs/alerts.md has no <summary>{summary}</summary>");
        var start = text.IndexOf("```json\n", at, StringComparison.Ordinal) + "```json\n".Length;
        var end = text.IndexOf("\n```", start, StringComparison.Ordinal);
        return JsonDocument.Parse(text[start..end]);
    }

    [SkippableFact]
    public void Docs_OcsfExample_IsAValidDetectionFinding()
    {
        var validator = new OcsfValidator(SharedSchemas.RequireOcsf());
        using var doc = Example("OCSF Detection Finding");
        var report = validator.Validate(doc.RootElement, "detection_finding");
        Assert.True(report.Valid, report.ToString());
    }

    [SkippableFact]
    public async Task Docs_EcsExample_IsAnEcsDocument()
    {
        var validator = new EcsValidator(await SharedSchemas.RequireEcsAsync(), "runtime_sentinel");
        using var doc = Example("ECS alert document");
        var report = validator.Validate(doc.RootElement);
        Assert.True(report.Valid, report.ToString());
    }
}
