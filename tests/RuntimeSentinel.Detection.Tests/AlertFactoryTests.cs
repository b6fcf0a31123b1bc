using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class AlertFactoryTests
{
    private static readonly WorkloadKey Key = new("c", "shop", "Deployment", "api", "main");

    private static Finding Window(string top, double score) => Finding.OfModel(
        "behaviour_pca", "behaviour_anomaly", Severity.High, score, 1.0, [new DetectorScore("behaviour_pca", score, 1.0)],
        [new FeatureContribution(top, 10, 1, 0.9), new FeatureContribution("events", 50, 40, 0.1)], "r", "behaviour_pca");

    [Fact]
    public void Create_ModelFindingsWithOtherTopFeature_GetOtherFingerprint()
    {
        var e = Some.Exec("/usr/bin/node", "/usr/bin/node");
        var state = new BaselineState(BaselinePhase.Active, TimeSpan.FromHours(1), 1000, null);
        var now = DateTimeOffset.UnixEpoch;
        string Fp(Finding f) => AlertFactory.Create(Key, e, f, state, now).Fingerprint;

        // The same anomaly in the next window folds into its incident; a different one (volume after an exec burst)
        // must not hide in it as an update.
        Assert.Equal(Fp(Window("exec", 3)), Fp(Window("exec", 7)));
        Assert.NotEqual(Fp(Window("exec", 3)), Fp(Window("bytes_out", 3)));
    }
}
