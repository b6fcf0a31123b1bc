using System.CommandLine;
using RuntimeSentinel.Kafka;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>
/// <c>sentinel feedback send</c>: signs an analyst's verdict with the analyst's key and publishes it to the feedback
/// topic, so analysts never handle HMACs by hand. The key file is the one mounted for the daemon (same content).
/// </summary>
internal static class FeedbackCommand
{
    public static async Task<int> SendAsync(string bootstrap, string topic, string analyst, string keyFile, string? verdictFile, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (!File.Exists(keyFile))
        {
            await stderr.WriteLineAsync($"feedback send: key file '{keyFile}' does not exist").ConfigureAwait(false);
            return 2;
        }

        var key = System.Text.Encoding.UTF8.GetBytes((await File.ReadAllTextAsync(keyFile, ct).ConfigureAwait(false)).Trim());
        if (key.Length < 16)
        {
            await stderr.WriteLineAsync("feedback send: a verdict key has at least 16 characters").ConfigureAwait(false);
            return 2;
        }

        byte[] body;
        if (verdictFile is null or "-")
        {
            using var input = Console.OpenStandardInput();
            using var buffer = new MemoryStream();
            await input.CopyToAsync(buffer, ct).ConfigureAwait(false);
            body = buffer.ToArray();
        }
        else
        {
            body = await File.ReadAllBytesAsync(verdictFile, ct).ConfigureAwait(false);
        }

        // Sent exactly as read: the signature covers these bytes, and the daemon re-checks everything in them.
        body = TrimTrailingNewlines(body);
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object)
            {
                await stderr.WriteLineAsync("feedback send: a verdict is one JSON object (docs/alerts.md, Feedback)").ConfigureAwait(false);
                return 2;
            }
        }
        catch (System.Text.Json.JsonException ex)
        {
            await stderr.WriteLineAsync($"feedback send: not JSON: {ex.Message}").ConfigureAwait(false);
            return 2;
        }

        using var producer = RecordProducer.Connect(bootstrap, lingerMs: 0);
        var written = await producer.SendAsync(topic, null, body, FeedbackSignature.HeaderPairs(analyst, key, body), ct).ConfigureAwait(false);
        await stdout.WriteLineAsync($"sent verdict signed by {analyst} to {written}; its result appears in the feedback audit").ConfigureAwait(false);
        return 0;
    }

    private static byte[] TrimTrailingNewlines(byte[] b)
    {
        var n = b.Length;
        while (n > 0 && b[n - 1] is (byte)'\n' or (byte)'\r')
        {
            n--;
        }

        return n == b.Length ? b : b[..n];
    }

    /// <summary>sentinel feedback send: a signed verdict to the feedback topic.</summary>
    public static Command Create(CliOptions cli)
    {
        var analystOption = new Option<string>("--analyst") { Description = "Your name: the file name of your key in the daemon's Kafka:FeedbackKeysDirectory.", Required = true };
        var keyFileOption = new Option<string>("--key-file") { Description = "File holding your verdict key (the same content as the daemon's copy).", Required = true };
        var feedbackTopicOption = new Option<string>("--topic") { Description = "Feedback topic.", DefaultValueFactory = _ => "sentinel.feedback" };
        var feedbackBootstrapOption = new Option<string>("--bootstrap-servers") { Description = "Kafka brokers.", Required = true };
        var verdictFileArgument = new Argument<string?>("verdict") { Description = "Verdict JSON file (docs/alerts.md, Feedback); '-' or none reads standard input.", Arity = ArgumentArity.ZeroOrOne };
        var feedbackSend = new Command("send", "Sign a verdict with your analyst key and publish it to the feedback topic.") { feedbackBootstrapOption, feedbackTopicOption, analystOption, keyFileOption, verdictFileArgument };
        feedbackSend.SetAction((parse, ct) => FeedbackCommand.SendAsync(parse.GetValue(feedbackBootstrapOption)!, parse.GetValue(feedbackTopicOption)!, parse.GetValue(analystOption)!, parse.GetValue(keyFileOption)!, parse.GetValue(verdictFileArgument), Console.Out, Console.Error, ct));
        var feedbackCommand = new Command("feedback", "Analysts' verdicts on alerts.") { feedbackSend };
        return feedbackCommand;
    }
}
