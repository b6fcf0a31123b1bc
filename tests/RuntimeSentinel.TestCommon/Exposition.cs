using Prometheus;

namespace RuntimeSentinel.TestCommon;

/// <summary>Reads values out of Prometheus text exposition (what /metrics serves), for assertions.</summary>
public static class Exposition
{
    public static string Export(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Sum of every series of <paramref name="metric"/>, optionally only those with a label equal to <paramref name="labelValue"/>.</summary>
    public static double Sum(string exposition, string metric, string? labelValue = null) =>
        exposition.Split('\n')
            .Where(l => l.StartsWith(metric, StringComparison.Ordinal) && l.Length > metric.Length && (l[metric.Length] == '{' || l[metric.Length] == ' '))
            .Where(l => labelValue is null || l.Contains($"=\"{labelValue}\"", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
}
