using System.Reflection;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Core.Alerts;

/// <summary>
/// What the OCSF and ECS documents derive alike from an incident: the product, severity and confidence numbers, the
/// kind of analytic behind a detector, the bounded list of evidence events, and the parts of images, container ids and
/// command lines. One place, so the two schemas never disagree about the same incident.
/// </summary>
internal static class SiemFields
{
    public const string ProductName = "RuntimeSentinel";
    public const string VendorName = "RuntimeSentinel";

    /// <summary>Evidence events per finding and in all: an incident holds up to 20 findings, a model finding several example events.</summary>
    public const int MaxEvidencePerAlert = 4;
    public const int MaxEvidence = 32;

    /// <summary>Pods and nodes named as affected resources (an incident of a large Deployment can span hundreds of replicas).</summary>
    public const int MaxPods = 32;
    public const int MaxNodes = 16;

    /// <summary>The assembly's version without build metadata (<c>0.1.0</c>): the product version both schemas report.</summary>
    public static string ProductVersion { get; } = ReadVersion();

    private static string ReadVersion()
    {
        var v = typeof(SiemFields).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(SiemFields).Assembly.GetName().Version?.ToString() ?? "0.0.0";
        var plus = v.IndexOf('+', StringComparison.Ordinal);
        return plus >= 0 ? v[..plus] : v;
    }

    /// <summary>OCSF <c>severity_id</c> (1 Informational … 5 Critical), also ECS <c>event.severity</c> so both read the same.</summary>
    public static int SeverityId(Severity s) => (int)s + 1;

    public static string SeverityCaption(Severity s) => s switch
    {
        Severity.Info => "Informational",
        Severity.Low => "Low",
        Severity.Medium => "Medium",
        Severity.High => "High",
        _ => "Critical",
    };

    /// <summary>
    /// How far the score went past its calibrated threshold, as 0-100: 100 × (1 − threshold/score), so a score at the
    /// threshold is 0, twice it 50, ten times it 90. Model alerts use their combined ratio (the largest of the detectors).
    /// Null when the alert has no meaningful ratio (no positive threshold).
    /// </summary>
    public static int? ConfidenceScore(Alert a)
    {
        var ratio = a.CombinedScore ?? (a.Threshold > 0 ? a.Score / a.Threshold : double.NaN);
        if (!double.IsFinite(ratio) || ratio <= 0)
        {
            return null;
        }

        return (int)Math.Clamp(Math.Round(100 * (1 - (1 / ratio))), 0, 100);
    }

    /// <summary>OCSF <c>confidence_id</c> from the score above: Low below 34, Medium below 67, High from there.</summary>
    public static (int Id, string Caption) ConfidenceLevel(int score) => score switch
    {
        < 34 => (1, "Low"),
        < 67 => (2, "Medium"),
        _ => (3, "High"),
    };

    /// <summary>
    /// The kind of analytic behind an alert, in OCSF's terms (analytic <c>type_id</c>): the catalogue and a sensor's own
    /// rule are rules; item novelty compares with the learned behaviour; rates, volumes and spikes are statistics on
    /// the workload's own figures; the PCA and sequence models are learned models.
    /// </summary>
    public static (int TypeId, string Type, string? Algorithm) Analytic(Alert a)
    {
        if (a.Detector == "catalogue" || a.Category == AlertCategories.SensorAlert)
        {
            return (1, "Rule", null);
        }

        if (a.Detector == "behaviour_pca")
        {
            return (4, "Learning (ML/DL)", "randomized PCA reconstruction error over behaviour windows");
        }

        if (a.Detector == "sequence")
        {
            return (4, "Learning (ML/DL)", "syscall n-gram language model per executable");
        }

        if (a.Detector.StartsWith("spike:", StringComparison.Ordinal))
        {
            return (3, "Statistical", "seasonal median/MAD robust z-score");
        }

        return a.Category switch
        {
            AlertCategories.ResourceAnomaly or AlertCategories.RunAnomaly or AlertCategories.PeerVolume or AlertCategories.PeerRate
                or AlertCategories.FailedSessions or AlertCategories.OffHoursActivity => (3, "Statistical", null),
            _ => (2, "Behavioral", null),
        };
    }

    /// <summary>
    /// The evidence events of an incident, bounded: the primary finding's first, then each other finding's, at most
    /// <see cref="MaxEvidencePerAlert"/> per finding and <see cref="MaxEvidence"/> in all.
    /// </summary>
    public static List<(Alert Alert, RuntimeEvent Event)> Evidence(Incident i)
    {
        var result = new List<(Alert, RuntimeEvent)>();
        foreach (var a in i.Samples.Where(s => s.Id != i.Primary.Id).Prepend(i.Primary))
        {
            foreach (var e in a.Evidence.Take(MaxEvidencePerAlert))
            {
                if (result.Count == MaxEvidence)
                {
                    return result;
                }

                result.Add((a, e));
            }
        }

        return result;
    }

    /// <summary>An image reference split into repository and tag (<c>docker.io/library/nginx</c>, <c>1.27.2</c>); a digest reference has no tag.</summary>
    public static (string Name, string? Tag) ImageParts(string image)
    {
        var at = image.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            return (image[..at], null);
        }

        var colon = image.LastIndexOf(':');
        return colon > image.LastIndexOf('/') && colon < image.Length - 1 ? (image[..colon], image[(colon + 1)..]) : (image, null);
    }

    /// <summary>A runtime's container id (<c>containerd://0eec…</c>) split into the runtime and the bare id.</summary>
    public static (string? Runtime, string Id) ContainerIdParts(string containerId)
    {
        var sep = containerId.IndexOf("://", StringComparison.Ordinal);
        return sep > 0 ? (containerId[..sep], containerId[(sep + 3)..]) : (null, containerId);
    }

    public static string BaseName(string path)
    {
        var trimmed = path.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        return slash >= 0 && slash < trimmed.Length - 1 ? trimmed[(slash + 1)..] : trimmed;
    }

    /// <summary>The directory of a path, or null for a bare name.</summary>
    public static string? Directory(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash > 0 ? path[..slash] : slash == 0 ? "/" : null;
    }

    /// <summary>
    /// The executable and its arguments as one string. Sensors report the arguments as one string with the quoting
    /// gone, so no argv array is derived from it (splitting "-c id; cat /etc/shadow" at spaces would invent arguments).
    /// </summary>
    public static string? CommandLine(ProcessInfo p) =>
        p.Exe is null ? null : string.IsNullOrEmpty(p.Args) ? p.Exe : $"{p.Exe} {p.Args}";

    /// <summary>The headline with the incident's note (a flood's summary, a budget's), as <c>sentinel.alert/v2</c>'s <c>summary</c>.</summary>
    public static string Message(Incident i) => i.Note is null ? i.Primary.Summary : $"{i.Primary.Summary} — {i.Note}";

    public static long EpochMs(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    /// <summary>The sensors the evidence came from (<c>source</c> label), in order of first appearance.</summary>
    public static List<string> Sources(List<(Alert Alert, RuntimeEvent Event)> evidence) =>
        evidence.Select(x => x.Event.Labels[EventLabels.Source]).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
}
