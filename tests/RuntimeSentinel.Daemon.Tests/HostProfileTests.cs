using Microsoft.Extensions.Configuration;
using RuntimeSentinel.Alerting;
using RuntimeSentinel.Daemon.Cli;
using RuntimeSentinel.Daemon.Demo;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Kafka;

namespace RuntimeSentinel.Daemon.Tests;

public class HostProfileTests
{
    private static T Bind<T>(HostProfile profile, string section)
        where T : new() =>
        new ConfigurationBuilder().AddInMemoryCollection(profile.ToConfiguration()).Build().GetSection(section).Get<T>() ?? new T();

    [Fact]
    public void ToConfiguration_DemoProfile_BindsToEveryOptionsSection()
    {
        var demo = HostProfile.Demo(learningSeconds: 20, seed: 11) with { Listen = "127.0.0.1:0", AlertsFile = "/tmp/a.jsonl" };

        var kafka = Bind<KafkaOptions>(demo, KafkaOptions.SectionName);
        var detection = Bind<DetectionOptions>(demo, DetectionOptions.SectionName);
        var alerting = Bind<AlertingOptions>(demo, AlertingOptions.SectionName);

        Assert.True(kafka.IsEmbedded);
        Assert.Equal(["sentinel.events"], kafka.Topics);
        Assert.Equal(6000, kafka.SessionTimeoutMs);
        Assert.True(kafka.FeedbackAllowUnsigned);
        Assert.Equal(TimeSpan.FromSeconds(20), detection.LearningDuration);
        Assert.Equal(300, detection.MinLearningEvents);
        Assert.Equal(TimeSpan.FromSeconds(0.5), detection.Models.Window);
        Assert.Equal(TimeSpan.FromSeconds(5), detection.Models.ShadowDuration);
        Assert.Equal(TimeSpan.Zero, detection.Models.SeasonPeriod);
        Assert.Equal("/tmp/a.jsonl", alerting.File);
        Assert.Equal(TimeSpan.FromSeconds(1.5), alerting.ProcesslessJoinWindow);
        Assert.Equal("127.0.0.1:0", Bind<HttpOptions>(demo, HttpOptions.SectionName).Listen);
        Assert.Equal(11, Bind<DemoOptions>(demo, DemoOptions.SectionName).Seed);
    }

    [Fact]
    public void ToConfiguration_UnsetProperties_LeaveTheConfigurationAlone()
    {
        var run = new HostProfile { GroupId = "g" };

        Assert.Equal(["Kafka:GroupId"], run.ToConfiguration().Keys);
    }

    [Fact]
    public void ToConfiguration_ReplayProfile_LearnsOnTheEventClockAndPrintsAlertsUnlessJson()
    {
        Assert.Equal("event", Bind<DetectionOptions>(HostProfile.Replay("t", 90, json: false), DetectionOptions.SectionName).Clock);
        Assert.True(Bind<AlertingOptions>(HostProfile.Replay("t", 90, json: false), AlertingOptions.SectionName).Console);
        Assert.False(Bind<AlertingOptions>(HostProfile.Replay("t", 90, json: true), AlertingOptions.SectionName).Console);
    }
}
