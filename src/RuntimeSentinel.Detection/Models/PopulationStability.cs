namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// The population stability index of one feature: PSI = Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ) over its bins, with eᵢ the share of
/// training windows in bin i and aᵢ the share of recent ones. It is the symmetric Kullback-Leibler divergence of the two
/// histograms: 0 when they are the same, below 0.1 usually read as stable, 0.1-0.25 as a moderate shift, above 0.25
/// as a significant one.
/// </summary>
internal static class PopulationStability
{
    /// <summary>
    /// Floor of a share before it enters the formula. A bin empty on either side would make its term infinite (ln 0,
    /// or a division by 0), so one bin no recent window fell in (or that training never saw) would swamp every other
    /// feature. Floored at 10⁻⁴, a 10 % training bin that emptied adds (0.1 − 10⁻⁴)·ln(0.1/10⁻⁴) ≈ 0.69: finite,
    /// clearly significant, and ordered with other shifts. A window or two outside everything training saw adds about
    /// a·ln(a/10⁻⁴) ≈ 0.01 for a = 1/360 (one window of an hour of 10 s windows): barely anything, as it should.
    /// </summary>
    public const double Epsilon = 1e-4;

    /// <summary>PSI of <paramref name="counts"/> (recent windows per bin, <paramref name="total"/> in all) against <paramref name="expected"/> shares.</summary>
    public static double Index(ReadOnlySpan<double> expected, ReadOnlySpan<int> counts, int total)
    {
        if (expected.Length != counts.Length)
        {
            throw new ArgumentException($"{expected.Length} expected shares for {counts.Length} bins");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(total);
        var psi = 0.0;
        for (var i = 0; i < expected.Length; i++)
        {
            psi += Term(expected[i], counts[i] / (double)total);
        }

        return psi;
    }

    /// <summary>PSI of two histograms given as shares (each summing to 1).</summary>
    public static double Index(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual)
    {
        if (expected.Length != actual.Length)
        {
            throw new ArgumentException($"{expected.Length} expected shares for {actual.Length} actual ones");
        }

        var psi = 0.0;
        for (var i = 0; i < expected.Length; i++)
        {
            psi += Term(expected[i], actual[i]);
        }

        return psi;
    }

    private static double Term(double expected, double actual)
    {
        var e = Math.Max(expected, Epsilon);
        var a = Math.Max(actual, Epsilon);
        return (a - e) * Math.Log(a / e);
    }
}
