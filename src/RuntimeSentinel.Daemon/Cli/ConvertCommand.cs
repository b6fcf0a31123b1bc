using System.CommandLine;
using System.Text.Json;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Formats;
using RuntimeSentinel.Lab.Recordings;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>
/// <c>sentinel convert --from FORMAT|auto [FILE...]</c>: decodes files (or standard input) and writes native schema v1
/// events as JSON lines to standard output. Per-file counts and every rejected line (with its reason) go to
/// standard error; the exit code is 1 when anything was rejected.
/// </summary>
internal static class ConvertCommand
{
    public static async Task<int> RunAsync(string format, string[] files, TextWriter stderr, Stream stdout)
    {
        if (!EventFormats.IsKnown(format))
        {
            await stderr.WriteLineAsync($"convert: unknown format '{format}'; one of {string.Join(", ", EventFormats.Names)}");
            return 2;
        }

        var missing = files.Where(f => f != "-" && !File.Exists(f)).ToList();
        if (missing.Count > 0)
        {
            await stderr.WriteLineAsync("convert: no such file: " + string.Join(", ", missing));
            return 2;
        }

        var inputs = files.Length == 0 ? ["-"] : files;
        long totalRejected = 0;
        await using var writer = new Utf8JsonWriter(stdout);
        foreach (var file in inputs)
        {
            IEnumerable<SourceRecord> records;
            if (file == "-")
            {
                using var buffer = new MemoryStream();
                await Console.OpenStandardInput().CopyToAsync(buffer);
                records = EventSources.ReadJson("stdin", buffer.ToArray(), EventFormats.Create(format));
            }
            else
            {
                records = EventSources.Read(file, format);
            }

            long events = 0, ignored = 0, rejected = 0;
            var ignoredReasons = new SortedDictionary<string, int>(StringComparer.Ordinal);
            foreach (var r in records)
            {
                switch (r.Status)
                {
                    case DecodeStatus.Event:
                        events++;
                        EventJsonWriter.Write(writer, r.Event);
                        await writer.FlushAsync();
                        writer.Reset();
                        stdout.WriteByte((byte)'\n');
                        break;
                    case DecodeStatus.Ignored:
                        ignored++;
                        ignoredReasons[r.Note ?? "ignored"] = ignoredReasons.GetValueOrDefault(r.Note ?? "ignored") + 1;
                        break;
                    default:
                        rejected++;
                        await stderr.WriteLineAsync($"{r.Source}:{r.Line}: rejected: {r.Error}");
                        break;
                }
            }

            totalRejected += rejected;
            var why = ignoredReasons.Count == 0 ? "" : " (" + string.Join(", ", ignoredReasons.Select(kv => $"{kv.Key} {kv.Value}")) + ")";
            await stderr.WriteLineAsync($"{(file == "-" ? "stdin" : file)}: {events + ignored + rejected} records: {events} events, {ignored} ignored{why}, {rejected} rejected");
        }

        await stdout.FlushAsync();
        return totalRejected == 0 ? 0 : 1;
    }

    /// <summary>sentinel convert: sensor or native events to native JSON lines.</summary>
    public static Command Create(CliOptions cli)
    {
        var filesArgument = new Argument<string[]>("files") { Description = "Input files (JSON lines or one JSON document each); none or '-' reads standard input.", Arity = ArgumentArity.ZeroOrMore };
        var convert = new Command("convert", "Decode sensor or native events and write native schema v1 JSON lines to stdout.")
        {
            cli.From, filesArgument,
        };
        convert.SetAction(async (parse, ct) =>
        {
            var stdout = Console.OpenStandardOutput();
            return await ConvertCommand.RunAsync(parse.GetValue(cli.From)!, parse.GetValue(filesArgument) ?? [], Console.Error, stdout).ConfigureAwait(false);
        });
        return convert;
    }
}
