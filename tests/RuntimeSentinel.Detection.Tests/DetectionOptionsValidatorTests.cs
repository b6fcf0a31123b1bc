using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Detection.Tests;

public class DetectionOptionsValidatorTests
{
    [Fact]
    public void Validate_Defaults_Succeeds()
    {
        var result = new DetectionOptionsValidator().Validate(null, new DetectionOptions());

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void Validate_EveryFieldBad_ListsEachError()
    {
        var o = new DetectionOptions
        {
            Cluster = "eu/1",
            LearningDuration = TimeSpan.FromSeconds(-1),
            CheckpointInterval = TimeSpan.FromDays(2),
            CheckpointMaxBytes = 1024,
            ActivityCycle = TimeSpan.FromDays(32),
            ActivitySlots = 0,
            AdaptationPeriod = TimeSpan.FromDays(8),
            Network = new Core.Workloads.NetworkOptions { EphemeralPortFirst = 40000, EphemeralPortLast = 30000, ClusterNetworks = ["10.0.0.0/8", "not-a-cidr"] },
            MinLearningEvents = -1,
            EventTimeMaxLead = TimeSpan.Zero,
            MinLearningRuns = 0,
            Shards = 257,
            ShardQueueCapacity = 0,
            MemoryBudgetMiB = 8,
            MaxWorkloads = 0,
            MaxItemsPerFeature = 15,
            RarityBits = double.NaN,
            AlertCooldown = TimeSpan.FromSeconds(-1),
            ResourceZThreshold = 0,
            MaxWorkloadSeries = -1,
            MetricsInterval = TimeSpan.FromMilliseconds(999),
            TargetAlertsPerWorkloadDay = double.NaN,
            DirectoryWildcardThreshold = 1,
            Clock = "wall",
            Models = new ModelOptions
            {
                PcaRank = 0,
                MinWindows = 9,
                SequenceOrder = 7,
                SequenceWindow = 3,
                HeldBackFraction = 0.6,
                MinSpikeZ = 0.5,
                MaxProcesses = 0,
                MaxTrainingCalls = 999,
                MemoryBudgetMiB = 7,
                TopFeatures = 11,
                Window = TimeSpan.FromMilliseconds(50),
                ShadowDuration = TimeSpan.FromSeconds(-1),
                SeasonPeriod = TimeSpan.FromSeconds(1), // under 24 windows of 50 ms
                ConfirmWindows = 11,
                MaxThresholdRaise = 0.5,
                ReloadInterval = TimeSpan.FromMilliseconds(99),
            },
        };

        var result = new DetectionOptionsValidator().Validate(null, o);

        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        string[] expected =
        [
            "Detection:Cluster must be a non-empty name without '/'.",
            "Detection:LearningDuration must not be negative.",
            "Detection:CheckpointInterval must be between 0 (only on revoke, eviction and stop) and 1 day.",
            "Detection:CheckpointMaxBytes must be between 64 KiB and 64 MiB (and below the topic's max.message.bytes).",
            "Detection:ActivityCycle must be 0 (off) or up to 31 days, and at least a minute per slot.",
            "Detection:ActivitySlots must be between 1 and 1440.",
            "Detection:AdaptationPeriod must be between 0 (relearn on a new image) and 7 days.",
            "Detection:Network:EphemeralPortFirst/Last must be a port range within 1-65535.",
            "Detection:Network:ClusterNetworks: 'not-a-cidr' is not a CIDR (e.g. 10.0.0.0/8).",
            "Detection:MinLearningEvents must not be negative.",
            "Detection:EventTimeMaxLead must be positive.",
            $"Detection:MinLearningRuns must be between 1 and {Baseline.RunHistory.MaxRuns} (the runs a job keeps).",
            "Detection:Shards must be between 0 (one per core) and 256.",
            "Detection:ShardQueueCapacity must be at least 1.",
            "Detection:MemoryBudgetMiB must be between 16 and 1048576, and at least Detection:Models:MemoryBudgetMiB (the models' share of it).",
            "Detection:MaxWorkloads must be at least 1.",
            "Detection:MaxItemsPerFeature must be at least 16.",
            "Detection:RarityBits must be between 0 and 16.",
            "Detection:AlertCooldown must not be negative.",
            "Detection:ResourceZThreshold must be positive.",
            "Detection:MaxWorkloadSeries must not be negative.",
            "Detection:MetricsInterval must be at least 1 second.",
            "Detection:TargetAlertsPerWorkloadDay must be positive.",
            "Detection:DirectoryWildcardThreshold must be at least 2.",
            "Detection:Clock must be 'processing' or 'event'.",
            "Detection:Models:Window must be at least 100 ms.",
            "Detection:Models:ShadowDuration and SeasonPeriod must not be negative.",
            "Detection:Models:SeasonPeriod must be at least 24 windows long (or zero to turn seasonality off).",
            "Detection:Models:ConfirmWindows must be between 1 and 10.",
            "Detection:Models:MaxThresholdRaise must be between 1 and 1000 (a multiple of the calibrated threshold).",
            "Detection:Models:ReloadInterval must be at least 100 ms.",
        ];

        // The [Range] checks of the models' settings: the wording after the name is the runtime's own.
        string[] ranges = ["PcaRank", "MinWindows", "SequenceOrder", "SequenceWindow", "HeldBackFraction", "MinSpikeZ", "MaxProcesses", "MaxTrainingCalls", "MemoryBudgetMiB", "TopFeatures"];
        foreach (var error in expected)
        {
            Assert.Contains(error, failures);
        }

        foreach (var field in ranges)
        {
            Assert.Contains(failures, f => f.StartsWith($"Detection:Models:{field}: ", StringComparison.Ordinal) && f.Contains(field + " must be between", StringComparison.Ordinal));
        }

        Assert.Equal(expected.Length + ranges.Length, failures.Count);
    }
}
