using System.Text.Json;
using static RuntimeSentinel.Generators.Corpus.SensorJson;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// Writes a generated corpus the way <c>sentinel evaluate stream</c> reads it: one <c>&lt;sensor&gt;.jsonl</c> per sensor
/// (records in the order the generator yields them, which is time order) and <c>labels.json</c>
/// (schema <c>sentinel.corpus-labels/v1</c>). Shared by every corpus shape so they cannot drift apart in format.
/// </summary>
internal static class CorpusFiles
{
    /// <summary>The timeline a corpus declares in <c>labels.json</c>.</summary>
    public readonly record struct Timeline(DateTimeOffset Start, DateTimeOffset LearningEnds, DateTimeOffset AttacksStart, DateTimeOffset End);

    public static async Task<long> WriteAsync(string directory, string corpus, int seed, IEnumerable<(DateTimeOffset Time, string Sensor, byte[] Json)> records, Func<Timeline> timeline, Func<IReadOnlyList<CorpusLabel>> labels, CancellationToken ct)
    {
        Directory.CreateDirectory(directory);
        var files = new Dictionary<string, FileStream>(StringComparer.Ordinal);
        long n = 0;
        try
        {
            foreach (var (_, sensor, json) in records)
            {
                if (!files.TryGetValue(sensor, out var f))
                {
                    f = new FileStream(Path.Combine(directory, sensor + ".jsonl"), FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
                    files[sensor] = f;
                }

                await f.WriteAsync(json, ct).ConfigureAwait(false);
                f.WriteByte((byte)'\n');
                n++;
            }
        }
        finally
        {
            foreach (var f in files.Values)
            {
                await f.DisposeAsync().ConfigureAwait(false);
            }
        }

        // The generator knows its timeline and labels only once every record has been produced.
        var t = timeline();
        var document = new
        {
            schema = "sentinel.corpus-labels/v1",
            corpus,
            seed,
            start = Time(t.Start),
            learning_ends = Time(t.LearningEnds),
            attacks_start = Time(t.AttacksStart),
            end = Time(t.End),
            scenarios = labels().Select(l => new { scenario = l.Scenario, kind = l.Kind, workload = l.Workload, related_workloads = l.Related, pods = l.Pods, start = Time(l.Start), end = Time(l.End), description = l.Description }),
        };
        await File.WriteAllTextAsync(Path.Combine(directory, "labels.json"), JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }), ct).ConfigureAwait(false);
        return n;
    }
}
