using System.Text.Json;
using RuntimeSentinel.Core.Feedback;

namespace RuntimeSentinel.Detection.Feedback;

/// <summary>Reads and validates a verdict (<see cref="VerdictReader"/>), applies it on the shard that owns its workload, and records the result.</summary>
public sealed class VerdictHandler(DetectionPipeline pipeline, TimeProvider time) : IVerdictHandler
{
    public async Task ApplyAsync(JsonElement root, string? signer, DateTimeOffset published, VerdictLimits limits, VerdictAudit audit)
    {
        var verdict = VerdictReader.Read(root, signer, published, time.GetUtcNow(), limits, audit);
        if (verdict is null)
        {
            return;
        }

        var applied = await pipeline.ApplyFeedbackAsync(verdict).ConfigureAwait(false);
        VerdictReader.Record(audit, verdict, applied, limits);
    }
}
