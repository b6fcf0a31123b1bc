using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Formats;
using RuntimeSentinel.Lab.Recordings;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>What a replay published.</summary>
internal sealed record ReplayReport(long Published, long Ignored, long Rejected, DateTimeOffset? FirstEvent, DateTimeOffset? LastEvent, IReadOnlyDictionary<string, long> ByScenario);

/// <summary>
/// <c>sentinel replay</c>: publishes recorded events (JSON lines in any supported format, LID-DS recordings, the ADFA-LD
/// archive) into a Kafka topic as native events, keyed by workload so each workload's events stay ordered, either
/// as fast as possible or at a multiple of the recorded pace (<c>--speed 10x</c>).
/// </summary>
internal static class ReplayCommand
{
    public static bool TryParseSpeed(string? text, out double speed)
    {
        speed = 0; // 0 = as fast as possible
        if (string.IsNullOrEmpty(text) || text is "max" or "0")
        {
            return true;
        }

        var t = text.EndsWith('x') ? text[..^1] : text;
        return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out speed) && speed > 0;
    }

    public static async Task<ReplayReport> PublishAsync(IProducer<byte[]?, byte[]> producer, string topic, IEnumerable<SourceRecord> records, double speed, bool raw, TextWriter log, CancellationToken ct)
    {
        long published = 0, ignored = 0, rejected = 0;
        DateTimeOffset? first = null, last = null;
        var byScenario = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var keys = new Dictionary<WorkloadRef, byte[]>();
        var clock = Stopwatch.StartNew();
        var pace = new EventWatermark(TimeSpan.FromMinutes(5));
        foreach (var r in records)
        {
            ct.ThrowIfCancellationRequested();
            if (r.Status == DecodeStatus.Ignored)
            {
                ignored++;
                continue;
            }

            if (r.Status == DecodeStatus.Rejected)
            {
                rejected++;
                await log.WriteLineAsync($"{r.Source}:{r.Line}: rejected: {r.Error}");
                continue;
            }

            var e = r.Event;
            first ??= e.Timestamp;
            last = e.Timestamp;
            pace.Observe(e.Timestamp, e.Labels[EventLabels.Inventory] is not null, out _);
            if (speed > 0)
            {
                // Keep the recorded pacing, compressed by the speed factor, on the stream's own clock: an inventory
                // of days-old processes, or a gap of hours, is not slept through.
                var due = TimeSpan.FromTicks((long)(pace.Advanced.Ticks / speed));
                var wait = due - clock.Elapsed;
                if (wait > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(wait, ct);
                }
            }

            if (!keys.TryGetValue(e.Workload, out var key))
            {
                key = Encoding.UTF8.GetBytes(WorkloadResolver.Compute(e.Workload, "replay").Value);
                keys[e.Workload] = key;
            }

            var value = raw && r.Raw is not null ? r.Raw : EventJsonWriter.ToUtf8(e);
            while (true)
            {
                try
                {
                    producer.Produce(topic, new Message<byte[]?, byte[]> { Key = key, Value = value });
                    break;
                }
                catch (ProduceException<byte[]?, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    // The local queue is full: let librdkafka deliver, then retry (backpressure, not loss).
                    producer.Poll(TimeSpan.FromMilliseconds(50));
                }
            }

            published++;
            var scenario = e.Labels["scenario"] ?? "unlabelled";
            byScenario[scenario] = byScenario.GetValueOrDefault(scenario) + 1;
        }

        producer.Flush(ct);
        return new ReplayReport(published, ignored, rejected, first, last, byScenario);
    }

    /// <summary>What the daemon reported about a replay: alerts before and after the recorded attack begins.</summary>
    public static string Summarize(ReplayReport replay, IReadOnlyList<Alert> alerts, DateTimeOffset? exploitTime, bool json)
    {
        var attackAlerts = alerts.Where(a => a.Evidence.Count > 0 && (a.Evidence[0].Labels["scenario"] ?? "").StartsWith("attack:", StringComparison.Ordinal)).ToList();
        var normalAlerts = alerts.Where(a => a.Evidence.Count > 0 && a.Evidence[0].Labels["scenario"] == "normal").ToList();
        var firstAttackAlert = attackAlerts.MinBy(a => a.Evidence[0].Timestamp);
        double? delay = exploitTime is { } x && firstAttackAlert is not null ? (firstAttackAlert.Evidence[0].Timestamp - x).TotalSeconds : null;
        var byCategoryBefore = normalAlerts.GroupBy(a => a.Category).ToDictionary(g => g.Key, g => g.Count());
        var byCategoryAfter = attackAlerts.GroupBy(a => a.Category).ToDictionary(g => g.Key, g => g.Count());
        if (json)
        {
            return JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["published"] = replay.Published,
                ["ignored"] = replay.Ignored,
                ["rejected"] = replay.Rejected,
                ["events_by_scenario"] = replay.ByScenario,
                ["exploit_time"] = exploitTime?.ToString("O", CultureInfo.InvariantCulture),
                ["alerts"] = alerts.Count,
                ["alerts_on_normal"] = normalAlerts.Count,
                ["alerts_on_attack"] = attackAlerts.Count,
                ["alerts_on_normal_by_category"] = byCategoryBefore,
                ["alerts_on_attack_by_category"] = byCategoryAfter,
                ["detection_delay_seconds"] = delay,
            });
        }

        var sb = new StringBuilder();
        sb.AppendLine("=== replay summary ===");
        sb.AppendLine(CultureInfo.InvariantCulture, $"published {replay.Published} events ({string.Join(", ", replay.ByScenario.Select(kv => $"{kv.Key}: {kv.Value}"))}); ignored {replay.Ignored}; rejected {replay.Rejected}");
        if (exploitTime is { } t)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"exploit starts at {t:O}");
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"alerts: {alerts.Count}; on events before the attack (normal): {normalAlerts.Count} {Fmt(byCategoryBefore)}; on attack events: {attackAlerts.Count} {Fmt(byCategoryAfter)}");
        sb.AppendLine(delay is { } d ? $"first alert on the attack: {d:0.000} s after the exploit time" : "no alert on the attack");
        return sb.ToString();

        static string Fmt(Dictionary<string, int> d) => d.Count == 0 ? "" : "(" + string.Join(", ", d.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}")) + ")";
    }
}
