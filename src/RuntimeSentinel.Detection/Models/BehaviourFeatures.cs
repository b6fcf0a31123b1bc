namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// The behaviour window's schema, read-only, for readers outside detection (<c>sentinel features export</c> names its
/// columns after it). <see cref="BehaviourSchema"/> stays internal: this exposes what a reader needs and nothing that
/// could change it.
/// </summary>
public static class BehaviourFeatures
{
    /// <summary>The feature names in the order of a window vector.</summary>
    public static IReadOnlyList<string> Names { get; } = Array.AsReadOnly(BehaviourSchema.Features);

    /// <summary>The schema fingerprint every model card carries.</summary>
    public static string Fingerprint => BehaviourSchema.Fingerprint;

    /// <summary>Whether the feature at this index enters the vector as log(1+x) (counts and byte totals).</summary>
    public static bool IsLogScaled(int feature) => BehaviourWindow.IsLogScaled(feature);

    /// <summary>The raw value behind a vector value (exp(x)-1 for log-scaled features).</summary>
    public static double Unscale(int feature, double value) => BehaviourWindow.Unscale(feature, value);
}
