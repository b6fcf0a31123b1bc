using System.Globalization;
using System.Text.Json;
using RuntimeSentinel.Core.Feedback;
using RuntimeSentinel.Detection.Baseline;

namespace RuntimeSentinel.Detection.Feedback;

/// <summary>
/// Reads and validates an analyst's verdict (docs/alerts.md, Feedback) into what the pipeline applies. Everything in it
/// is untrusted: strings are bounded, every field is checked, a feature-wide acceptance must end soon, a detector's
/// threshold is raised only to a positive score it gave. Whatever is wrong is said in the audit, all at once.
/// </summary>
internal static class VerdictReader
{
    private static string? Bounded(string? s) => s is { Length: > 1024 } ? s[..1024] : s;

    /// <summary>
    /// The verdict to apply, or null when there is nothing to apply: rejected (the audit says why), a confirmation
    /// (true positive, recorded), or an acceptance that has already ended.
    /// </summary>
    /// <param name="signer">The analyst whose key signed the message (null: unsigned, where that is allowed).</param>
    public static FeedbackVerdict? Read(JsonElement root, string? signer, DateTimeOffset published, DateTimeOffset now, VerdictLimits limits, VerdictAudit a)
    {
        string? S(string n) => root.TryGetProperty(n, out var v) && v.ValueKind == JsonValueKind.String ? Bounded(v.GetString()) : null;
        a.Verdict = S("verdict") ?? "";
        var claimed = S("analyst") ?? "";
        a.Analyst = signer ?? claimed;
        a.Reason = S("reason") ?? "";
        a.Workload = S("workload") ?? "";
        a.Scope = S("scope") ?? "item";
        a.Feature = S("feature") ?? "";
        var errors = new List<string>();
        if (a.Verdict is not ("false_positive" or "true_positive"))
        {
            errors.Add("verdict must be false_positive or true_positive");
        }

        if (signer is not null && claimed.Length > 0 && claimed != signer)
        {
            errors.Add($"analyst '{claimed}' is not the owner of the signing key '{signer}'");
        }

        if (a.Analyst.Length == 0 || a.Reason.Length == 0)
        {
            errors.Add("analyst and reason are required (the audit needs who and why)");
        }

        if (a.Workload.Length == 0)
        {
            errors.Add("workload (the alert's workload.key) is required");
        }

        var featureIndex = Array.IndexOf(FeatureNames.All.ToArray(), a.Feature);
        if (featureIndex < 0 && a.Scope != "detector")
        {
            errors.Add($"feature must be one of {string.Join(", ", FeatureNames.All)}");
        }

        FeatureKey? key = null;
        string? detector = null;
        var score = double.NaN;
        var acceptUntil = default(DateTimeOffset);
        if (a.Scope == "detector")
        {
            // A model alert: the detector and its score come from the alert's model.detectors[].
            detector = S("detector");
            score = root.TryGetProperty("score", out var sv) && sv.ValueKind == JsonValueKind.Number && sv.TryGetDouble(out var d) ? d : double.NaN;
            if (detector is null || !Models.WorkloadModel.IsDetector(detector))
            {
                errors.Add("scope detector needs detector: behaviour_pca, sequence or spike:<series> (copy it from the alert's model.detectors[].detector)");
            }

            if (!(score > 0) || double.IsInfinity(score))
            {
                errors.Add("scope detector needs the positive score the detector gave (model.detectors[].score)");
            }

            a.Feature = detector ?? "";
            a.Item = double.IsNaN(score) ? "" : score.ToString("R", CultureInfo.InvariantCulture);
        }
        else if (a.Scope == "item")
        {
            if (root.TryGetProperty("item", out var it) && it.ValueKind == JsonValueKind.Object && it.TryGetProperty("a", out var av) && av.ValueKind == JsonValueKind.String && Bounded(av.GetString()) is { Length: > 0 } first)
            {
                var b = it.TryGetProperty("b", out var bv) && bv.ValueKind == JsonValueKind.String ? Bounded(bv.GetString()) : null;
                var n = -1;
                if (it.TryGetProperty("n", out var nv) && !(nv.ValueKind == JsonValueKind.Number && nv.TryGetInt32(out n)))
                {
                    errors.Add("item.n must be an integer (a port or count, as in the alert)");
                    n = -1;
                }

                key = new FeatureKey(first, b, n);
                a.Item = key.Value.ToString();
            }
            else
            {
                errors.Add("scope item needs item {a, b?, n?} with a non-empty string a (copy it from the alert's explanation.item)");
            }
        }
        else if (a.Scope == "feature")
        {
            // Accepting every new item of a feature is the strongest verdict: it must end, and not far away.
            var expires = S("expires");
            if (expires is null || !DateTimeOffset.TryParse(expires, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out acceptUntil))
            {
                errors.Add("scope feature needs expires (RFC 3339): accepting a whole feature is always temporary");
            }
            else if (acceptUntil > published + limits.MaxFeatureAcceptance)
            {
                errors.Add($"scope feature: expires may be at most {limits.MaxFeatureAcceptance.TotalHours:0.#} h after the verdict (Kafka:FeedbackMaxFeatureAcceptance)");
            }
            else if (acceptUntil <= now)
            {
                a.Result = "expired";
                a.Detail = "the acceptance has already ended";
                return null;
            }

            a.Item = "until " + acceptUntil.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
        }
        else
        {
            errors.Add("scope must be item, feature or detector");
        }

        if (errors.Count > 0)
        {
            a.Reject(string.Join("; ", errors));
            return null;
        }

        if (a.Verdict == "true_positive")
        {
            a.Result = "recorded";
            a.Detail = "confirmed; the baseline is unchanged";
            return null;
        }

        return new FeedbackVerdict(a.Workload, (Feature)Math.Max(0, featureIndex), key, detector, score, acceptUntil, published + limits.PendingTtl);
    }

    /// <summary>Writes what the pipeline did with the verdict into its audit.</summary>
    public static void Record(VerdictAudit a, FeedbackVerdict verdict, FeedbackResult applied, VerdictLimits limits)
    {
        a.Result = applied switch
        {
            FeedbackResult.Applied => "applied",
            FeedbackResult.Pending => "pending",
            FeedbackResult.Expired => "expired",
            _ => "rejected",
        };
        a.Detail = applied switch
        {
            FeedbackResult.Pending => $"workload not tracked yet; applied if it appears before {verdict.PendingUntil.UtcDateTime:O}",
            FeedbackResult.Expired => $"workload not tracked here and the verdict is older than Kafka:FeedbackPendingTtl ({limits.PendingTtl})",
            FeedbackResult.Rejected => "the workload has no model detectors (models disabled)",
            _ when verdict.Detector is not null => $"{verdict.Detector} threshold raised to {verdict.Score * Models.ModelRuntime.FeedbackMargin:0.###} for the workload (at most Detection:Models:MaxThresholdRaise times the calibrated threshold)",
            _ when verdict.Item is null => $"every new {a.Feature} item accepted until {verdict.AcceptUntil.UtcDateTime:O}",
            _ => "absorbed into the baseline",
        };
    }
}
