using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Detection.Tests;

public sealed class WindowDetectorRegistryTests
{
    [Fact]
    public void Default_Names_BehaviourThenSpikesThenOnnx()
    {
        Assert.Equal([WorkloadModel.BehaviourDetector, SpikeSeries.Kind, OnnxWindowDetector.Kind], WindowDetectorRegistry.Default.Names);
    }

    [Fact]
    public void Create_TrainedModel_BehaviourFirstThenEverySpikeSeriesInSchemaOrder()
    {
        var (model, _) = WorkloadModelTests.Trained();

        var names = WindowDetectorRegistry.Default.Create(model, WorkloadModelTests.Options().Models).Select(d => d.Name);

        Assert.Equal([WorkloadModel.BehaviourDetector, .. BehaviourSchema.Series.Select(s => WorkloadModel.SpikePrefix + s.Feature)], names);
    }

    [Fact]
    public void With_AnotherKind_ItsDetectorsComeAfterTheOthersAndANameTakenIsRefused()
    {
        var (model, _) = WorkloadModelTests.Trained();
        var registry = WindowDetectorRegistry.Default.With("extra", c => [new BehaviourWindowDetector(c.Model.Behaviour!)]);

        var detectors = registry.Create(model, WorkloadModelTests.Options().Models);

        Assert.Equal(1 + BehaviourSchema.Series.Length + 1, detectors.Length);
        Assert.IsType<BehaviourWindowDetector>(detectors[^1]);
        Assert.Throws<ArgumentException>(() => registry.With(SpikeSeries.Kind, _ => []));
    }
}
