using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Prometheus;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Feedback;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;

namespace RuntimeSentinel.Detection;

public static class DetectionServiceCollectionExtensions
{
    /// <summary>Registers the sharded baseline pipeline and its options (validated at start-up).</summary>
    public static IServiceCollection AddSentinelDetection(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DetectionOptions>().Bind(configuration.GetSection(DetectionOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DetectionOptions>, DetectionOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IMetricFactory>(_ => Metrics.DefaultFactory);
        services.TryAddSingleton<DetectionMetrics>();
        services.TryAddSingleton<Core.Health.HealthRegistry>();
        services.TryAddSingleton<IWorkloadStateStore>(NoWorkloadStateStore.Instance);
        services.TryAddSingleton<Workloads.NodeMemoryBudget>();
        services.TryAddSingleton<IMemoryBudget>(sp => sp.GetRequiredService<Workloads.NodeMemoryBudget>().Budget);
        services.TryAddSingleton<DetectionPipeline>();
        services.TryAddSingleton<IDetectionIngress>(sp => sp.GetRequiredService<DetectionPipeline>());
        services.TryAddSingleton<IVerdictHandler, Feedback.VerdictHandler>();

        // One enrichment per ordered stream (its address map is learned in stream order): transient.
        services.TryAddTransient(sp =>
        {
            var o = sp.GetRequiredService<IOptions<DetectionOptions>>().Value;
            return new EventEnrichment(o.Cluster, o.Network);
        });

        // Start order is registration order and the host stops in reverse: after alerting, before ingestion.
        services.AddHostedService<DetectionService>();
        if (!string.IsNullOrEmpty(configuration.GetSection(DetectionOptions.SectionName)["Models:Directory"]))
        {
            services.TryAddSingleton<Models.ModelWatcher>();
            services.AddHostedService(sp => sp.GetRequiredService<Models.ModelWatcher>());
        }

        return services;
    }
}

/// <summary>Reports every invalid detection setting at once, so one start-up shows all that needs fixing.</summary>
internal sealed class DetectionOptionsValidator : IValidateOptions<DetectionOptions>
{
    public ValidateOptionsResult Validate(string? name, DetectionOptions o)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.Cluster) || o.Cluster.Contains('/'))
        {
            errors.Add("Detection:Cluster must be a non-empty name without '/'.");
        }

        if (o.LearningDuration < TimeSpan.Zero)
        {
            errors.Add("Detection:LearningDuration must not be negative.");
        }

        if (o.CheckpointInterval < TimeSpan.Zero || o.CheckpointInterval > TimeSpan.FromDays(1))
        {
            errors.Add("Detection:CheckpointInterval must be between 0 (only on revoke, eviction and stop) and 1 day.");
        }

        if (o.CheckpointMaxBytes is < 64 * 1024 or > 64 << 20)
        {
            errors.Add("Detection:CheckpointMaxBytes must be between 64 KiB and 64 MiB (and below the topic's max.message.bytes).");
        }

        if (o.ActivityCycle < TimeSpan.Zero || o.ActivityCycle > TimeSpan.FromDays(31) || (o.ActivityCycle > TimeSpan.Zero && o.ActivityCycle < TimeSpan.FromMinutes(o.ActivitySlots)))
        {
            errors.Add("Detection:ActivityCycle must be 0 (off) or up to 31 days, and at least a minute per slot.");
        }

        if (o.ActivitySlots is < 1 or > 1440)
        {
            errors.Add("Detection:ActivitySlots must be between 1 and 1440.");
        }

        if (o.AdaptationPeriod < TimeSpan.Zero || o.AdaptationPeriod > TimeSpan.FromDays(7))
        {
            errors.Add("Detection:AdaptationPeriod must be between 0 (relearn on a new image) and 7 days.");
        }

        if (o.Network.EphemeralPortFirst is < 1 or > 65535 || o.Network.EphemeralPortLast < o.Network.EphemeralPortFirst || o.Network.EphemeralPortLast > 65535)
        {
            errors.Add("Detection:Network:EphemeralPortFirst/Last must be a port range within 1-65535.");
        }

        foreach (var cidr in o.Network.ClusterNetworks)
        {
            if (PeerResolver.ParseCidr(cidr).Network is null)
            {
                errors.Add($"Detection:Network:ClusterNetworks: '{cidr}' is not a CIDR (e.g. 10.0.0.0/8).");
            }
        }

        if (o.MinLearningEvents < 0)
        {
            errors.Add("Detection:MinLearningEvents must not be negative.");
        }

        if (o.EventTimeMaxLead <= TimeSpan.Zero)
        {
            errors.Add("Detection:EventTimeMaxLead must be positive.");
        }

        if (o.MinLearningRuns is < 1 or > RunHistory.MaxRuns)
        {
            errors.Add($"Detection:MinLearningRuns must be between 1 and {RunHistory.MaxRuns} (the runs a job keeps).");
        }

        if (o.Shards is < 0 or > 256)
        {
            errors.Add("Detection:Shards must be between 0 (one per core) and 256.");
        }

        if (o.ShardQueueCapacity < 1)
        {
            errors.Add("Detection:ShardQueueCapacity must be at least 1.");
        }

        if (o.MemoryBudgetMiB is < 16 or > 1 << 20 || o.Models.MemoryBudgetMiB > o.MemoryBudgetMiB)
        {
            errors.Add("Detection:MemoryBudgetMiB must be between 16 and 1048576, and at least Detection:Models:MemoryBudgetMiB (the models' share of it).");
        }

        foreach (var detector in o.DisabledDetectors.Except(DetectorSwitches.Known, StringComparer.Ordinal))
        {
            errors.Add($"Detection:DisabledDetectors: no detector is named '{detector}' (known: {string.Join(", ", DetectorSwitches.Known)}).");
        }

        for (var i = 0; i < o.DetectorClasses.Count; i++)
        {
            foreach (var detector in o.DetectorClasses[i].Disabled.Except(DetectorSwitches.Known, StringComparer.Ordinal))
            {
                errors.Add($"Detection:DetectorClasses:{i}:Disabled: no detector is named '{detector}' (known: {string.Join(", ", DetectorSwitches.Known)}).");
            }
        }

        if (o.MaxWorkloads < 1)
        {
            errors.Add("Detection:MaxWorkloads must be at least 1.");
        }

        if (o.MaxItemsPerFeature < 16)
        {
            errors.Add("Detection:MaxItemsPerFeature must be at least 16.");
        }

        if (o.RarityBits < 0 || o.RarityBits > 16 || double.IsNaN(o.RarityBits))
        {
            errors.Add("Detection:RarityBits must be between 0 and 16.");
        }

        if (o.AlertCooldown < TimeSpan.Zero)
        {
            errors.Add("Detection:AlertCooldown must not be negative.");
        }

        if (o.ResourceZThreshold <= 0)
        {
            errors.Add("Detection:ResourceZThreshold must be positive.");
        }

        if (o.MaxWorkloadSeries < 0)
        {
            errors.Add("Detection:MaxWorkloadSeries must not be negative.");
        }

        if (o.MetricsInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add("Detection:MetricsInterval must be at least 1 second.");
        }

        if (o.TargetAlertsPerWorkloadDay <= 0 || double.IsNaN(o.TargetAlertsPerWorkloadDay))
        {
            errors.Add("Detection:TargetAlertsPerWorkloadDay must be positive.");
        }

        if (o.DirectoryWildcardThreshold < 2)
        {
            errors.Add("Detection:DirectoryWildcardThreshold must be at least 2.");
        }

        if (o.Clock is not ("processing" or "event"))
        {
            errors.Add("Detection:Clock must be 'processing' or 'event'.");
        }

        var m = o.Models;
        var context = new System.ComponentModel.DataAnnotations.ValidationContext(m);
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        if (!System.ComponentModel.DataAnnotations.Validator.TryValidateObject(m, context, results, validateAllProperties: true))
        {
            errors.AddRange(results.Select(r => $"Detection:Models:{string.Join(',', r.MemberNames)}: {r.ErrorMessage}"));
        }

        if (m.Window < TimeSpan.FromMilliseconds(100))
        {
            errors.Add("Detection:Models:Window must be at least 100 ms.");
        }

        if (m.ShadowDuration < TimeSpan.Zero || m.SeasonPeriod < TimeSpan.Zero)
        {
            errors.Add("Detection:Models:ShadowDuration and SeasonPeriod must not be negative.");
        }

        if (m.SeasonPeriod > TimeSpan.Zero && m.SeasonPeriod < m.Window * 24)
        {
            errors.Add("Detection:Models:SeasonPeriod must be at least 24 windows long (or zero to turn seasonality off).");
        }

        if (m.ConfirmWindows is < 1 or > 10)
        {
            errors.Add("Detection:Models:ConfirmWindows must be between 1 and 10.");
        }

        if (!(m.MaxThresholdRaise >= 1 && m.MaxThresholdRaise <= 1000))
        {
            errors.Add("Detection:Models:MaxThresholdRaise must be between 1 and 1000 (a multiple of the calibrated threshold).");
        }

        if (m.ReloadInterval < TimeSpan.FromMilliseconds(100))
        {
            errors.Add("Detection:Models:ReloadInterval must be at least 100 ms.");
        }

        m.Drift.Validate(errors);

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
