using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public sealed class WindowDetectorRegistryTests
{
    [Fact]
    public void Default_Names_BehaviourThenSpikesThenOnnx()
    {
        Assert.Equal([WorkloadModel.BehaviourDetector, SpikeSeries.Kind, OnnxWindowDetector.Kind], DetectorRegistry.Default.WindowNames);
    }

    [Fact]
    public void Create_TrainedModel_BehaviourFirstThenEverySpikeSeriesInSchemaOrder()
    {
        var (model, _) = WorkloadModelTests.Trained();

        var names = DetectorRegistry.Default.CreateWindowDetectors(new ModelDetectorContext(model, WorkloadModelTests.Options().Models, ModelMemoryBudget.Unlimited())).Select(d => d.Name);

        Assert.Equal([WorkloadModel.BehaviourDetector, .. BehaviourSchema.Series.Select(s => WorkloadModel.SpikePrefix + s.Feature)], names);
    }

    [Fact]
    public void With_AnotherKind_ItsDetectorsComeAfterTheOthersAndANameTakenIsRefused()
    {
        var (model, _) = WorkloadModelTests.Trained();
        var registry = DetectorRegistry.Default.Window("extra", c => [new BehaviourWindowDetector(c.Model.Behaviour!)]);

        var detectors = registry.CreateWindowDetectors(new ModelDetectorContext(model, WorkloadModelTests.Options().Models, ModelMemoryBudget.Unlimited()));

        Assert.Equal(1 + BehaviourSchema.Series.Length + 1, detectors.Length);
        Assert.IsType<BehaviourWindowDetector>(detectors[^1]);
        Assert.Throws<ArgumentException>(() => registry.Window(SpikeSeries.Kind, _ => []));
    }

    [Fact]
    public void Swap_WorkloadInAClassThatTurnsSpikesAndSequencesOff_ServesOnlyTheBehaviourModel()
    {
        var (model, workload) = WorkloadModelTests.Trained();
        var options = WorkloadModelTests.Options();
        options.DetectorClasses.Add(new DetectorClassOptions { OwnerKinds = ["Deployment"], Owners = ["cart"], Disabled = [SpikeSeries.Kind, WorkloadModel.SequenceDetector] });
        Assert.True(Core.Workloads.WorkloadKey.TryParse(workload, out var cart));
        var other = new Core.Workloads.WorkloadKey(cart.Cluster, cart.Namespace, cart.OwnerKind, "checkout", cart.Container);

        var inClass = Workloads.WorkloadState.New(cart, options, Some.Time, null, null).Models!;
        var outside = Workloads.WorkloadState.New(other, options, Some.Time, null, null).Models!;
        Assert.True(inClass.Swap(model));
        Assert.True(outside.Swap(model));

        Assert.Equal([WorkloadModel.BehaviourDetector], inClass.Serving);
        Assert.Equal([WorkloadModel.BehaviourDetector, .. BehaviourSchema.Series.Select(s => WorkloadModel.SpikePrefix + s.Feature), WorkloadModel.SequenceDetector], outside.Serving);
    }

    [Fact]
    public void Validate_ModelKindsInAClass_AcceptedAndAnUnknownOneNamed()
    {
        var ok = new DetectionOptionsValidator().Validate(null, new DetectionOptions { DetectorClasses = [new DetectorClassOptions { Disabled = ["behaviour_pca", "spike", "onnx", "sequence", "novelty"] }] });
        var bad = new DetectionOptionsValidator().Validate(null, new DetectionOptions { DisabledDetectors = ["spikes"] });

        Assert.False(ok.Failed, ok.FailureMessage);
        Assert.True(bad.Failed);
        Assert.Contains("'spikes'", bad.FailureMessage, StringComparison.Ordinal);
    }
}
