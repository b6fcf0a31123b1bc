using System.Globalization;
using System.Text.Json;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>A version's drift as a daemon serving it reports it (<c>/workloads</c>).</summary>
internal sealed record DriftView(string Daemon, double? Psi, string? Unknown, bool RetrainSuggested, IReadOnlyList<string> TopFeatures, DateTimeOffset? EvaluatedAt)
{
    /// <summary>The <c>models list</c> column: "0.31 retrain suggested (connect, bytes_out)", "0.04", "unknown".</summary>
    public string Column => Psi is { } psi
        ? string.Create(CultureInfo.InvariantCulture, $"{psi:0.###}{(RetrainSuggested ? " retrain suggested" : "")}{(TopFeatures.Count > 0 ? $" ({string.Join(", ", TopFeatures)})" : "")}")
        : "unknown";
}

/// <summary>
/// Drift of the versions in service, read from running daemons. Drift is live state: the daemon that owns a workload
/// (its Kafka partition) measures it on the shard that scores the workload, and it starts over when a version is
/// promoted. The model folder is shared and mounted read-only by every pod, and versions are immutable, so nothing
/// is written beside them; <c>sentinel models list --admin-url URL</c> asks each given daemon's admin listener
/// (<c>GET /workloads</c>, e.g. through <c>kubectl port-forward</c>) and shows the drift of the versions they serve.
/// </summary>
internal static class ServedDrift
{
    /// <summary>Largest <c>/workloads</c> answer read (a node tracks at most Detection:MaxWorkloads workloads).</summary>
    private const int MaxResponseBytes = 64 << 20;

    /// <summary>
    /// Drift per (workload, version) from every daemon that answered; an unreachable daemon or an answer that is not
    /// theirs is reported on <paramref name="stderr"/> and counted in <paramref name="failed"/>.
    /// </summary>
    public static async Task<(Dictionary<(string Workload, string Version), DriftView> Drift, int Failed)> FetchAsync(IReadOnlyList<string> urls, TextWriter stderr, CancellationToken ct)
    {
        var drift = new Dictionary<(string, string), DriftView>();
        var failed = 0;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30), MaxResponseContentBufferSize = MaxResponseBytes };
        foreach (var url in urls)
        {
            try
            {
                var uri = new Uri(new Uri(url.TrimEnd('/') + "/"), "workloads?limit=1000000");
                using var doc = JsonDocument.Parse(await http.GetByteArrayAsync(uri, ct).ConfigureAwait(false));
                foreach (var (key, view) in Parse(url, doc.RootElement))
                {
                    // A workload that moved between the daemons asked: the later evaluation is the current one.
                    if (!drift.TryGetValue(key, out var seen) || (view.EvaluatedAt ?? default) > (seen.EvaluatedAt ?? default))
                    {
                        drift[key] = view;
                    }
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or UriFormatException or InvalidOperationException or KeyNotFoundException or FormatException)
            {
                failed++;
                await stderr.WriteLineAsync($"models list: no drift from {url}: {ex.Message}").ConfigureAwait(false);
            }
        }

        return (drift, failed);
    }

    /// <summary>The drift of each workload with a model in an <c>/workloads</c> answer; throws on a document that is not one.</summary>
    internal static IEnumerable<((string Workload, string Version) Key, DriftView View)> Parse(string daemon, JsonElement root)
    {
        foreach (var w in root.GetProperty("workloads").EnumerateArray())
        {
            if (!w.TryGetProperty("drift", out var d) || d.ValueKind != JsonValueKind.Object || !d.TryGetProperty("model_version", out var v) || v.ValueKind != JsonValueKind.String)
            {
                continue;
            }

            var psi = d.GetProperty("psi");
            var top = d.TryGetProperty("top_features", out var t) && t.ValueKind == JsonValueKind.Array
                ? t.EnumerateArray().Select(f => f.GetProperty("feature").GetString() ?? "?").ToList()
                : [];
            var view = new DriftView(
                daemon,
                psi.ValueKind == JsonValueKind.Number ? psi.GetDouble() : null,
                d.TryGetProperty("unknown", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null,
                d.TryGetProperty("retrain_suggested", out var r) && r.ValueKind == JsonValueKind.True,
                top,
                d.TryGetProperty("evaluated_at", out var at) && at.ValueKind == JsonValueKind.String ? at.GetDateTimeOffset() : null);
            yield return ((w.GetProperty("key").GetString() ?? "", v.GetString()!), view);
        }
    }
}
