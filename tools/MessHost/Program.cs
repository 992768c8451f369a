using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Runspaces;
using System.Security;

// MessHost SCRIPT.ps1 [args...]: runs the script with its output formatted by PowerShell's default views,
// errors, warnings, verbose and progress shown on the console. Exit code 1 when the script failed.
if (args.Length == 0 || !File.Exists(args[0]))
{
    Console.Error.WriteLine("usage: MessHost SCRIPT.ps1 [arguments...]");
    return 2;
}
var host = new MessTools.Host.ConsoleHost();
var iss = InitialSessionState.CreateDefault2();
using var runspace = RunspaceFactory.CreateRunspace(host, iss);
runspace.Open();
runspace.SessionStateProxy.Path.SetLocation(Directory.GetCurrentDirectory());
using var ps = PowerShell.Create();
ps.Runspace = runspace;
ps.AddCommand(Path.GetFullPath(args[0]));
// -Name value pairs become named parameters, a -Name without a value a switch, anything else a positional argument.
for (int i = 1; i < args.Length; i++)
{
    string a = args[i];
    if (a.Length > 1 && a[0] == '-' && !double.TryParse(a, System.Globalization.NumberStyles.Float, CultureInfo.InvariantCulture, out _))
    {
        string name = a.TrimStart('-').TrimEnd(':');
        if (i + 1 < args.Length && !(args[i + 1].Length > 1 && args[i + 1][0] == '-')) ps.AddParameter(name, args[++i]);
        else ps.AddParameter(name);
    }
    else ps.AddArgument(a);
}
ps.AddCommand("Out-Default");
ps.Commands.Commands[0].MergeMyResults(PipelineResultTypes.Error, PipelineResultTypes.Output);
try
{
    ps.Invoke();
}
catch (RuntimeException ex)
{
    Console.Error.WriteLine($"ERROR: {ex.ErrorRecord?.ToString() ?? ex.Message}");
    if (ex.ErrorRecord?.InvocationInfo?.PositionMessage is { } where) Console.Error.WriteLine(where);
    return 1;
}
return ps.HadErrors || host.ExitCode != 0 ? Math.Max(1, host.ExitCode) : 0;

namespace MessTools.Host
{
    internal sealed class ConsoleHost : PSHost
    {
        private readonly Guid _id = Guid.NewGuid();
        private readonly ConsoleUi _ui = new();
        public int ExitCode { get; private set; }
        public override string Name => "MessHost";
        public override Version Version => new(1, 0);
        public override Guid InstanceId => _id;
        public override PSHostUserInterface UI => _ui;
        public override CultureInfo CurrentCulture => CultureInfo.CurrentCulture;
        public override CultureInfo CurrentUICulture => CultureInfo.CurrentUICulture;
        public override void SetShouldExit(int exitCode) => ExitCode = exitCode;
        public override void EnterNestedPrompt() => throw new NotSupportedException();
        public override void ExitNestedPrompt() => throw new NotSupportedException();
        public override void NotifyBeginApplication() { }
        public override void NotifyEndApplication() { }
    }

    internal sealed class ConsoleUi : PSHostUserInterface
    {
        private readonly RawUi _raw = new();
        private readonly bool _interactive = !Console.IsErrorRedirected;
        private DateTime _lastProgress = DateTime.MinValue;
        // PowerShell's formatter always decorates (table headers ...); a host strips the escape sequences when its
        // output goes to a file or a pipe, as pwsh does.
        private static readonly bool Plain = Console.IsOutputRedirected;
        private static readonly System.Text.RegularExpressions.Regex Escapes = new(@"\x1b\[[0-9;?]*[A-Za-z]", System.Text.RegularExpressions.RegexOptions.Compiled);
        private static string Out(string value) => Plain ? Escapes.Replace(value, "") : value;
        public override PSHostRawUserInterface RawUI => _raw;
        public override void Write(string value) => Console.Write(Out(value));
        public override void Write(ConsoleColor f, ConsoleColor b, string value) => Console.Write(Out(value));
        public override void WriteLine(string value) => Console.WriteLine(Out(value));
        public override void WriteErrorLine(string value) => Console.Error.WriteLine(value);
        public override void WriteDebugLine(string message) => Console.Error.WriteLine("DEBUG: " + message);
        public override void WriteVerboseLine(string message) => Console.Error.WriteLine("VERBOSE: " + message);
        public override void WriteWarningLine(string message) => Console.Error.WriteLine("WARNING: " + message);
        public override void WriteProgress(long sourceId, ProgressRecord record)
        {
            // One line at most every two seconds, so logs of long runs stay readable.
            if (record.RecordType == ProgressRecordType.Completed || DateTime.UtcNow - _lastProgress < TimeSpan.FromSeconds(2)) return;
            _lastProgress = DateTime.UtcNow;
            string pct = record.PercentComplete >= 0 ? $" {record.PercentComplete}%" : "";
            Console.Error.WriteLine($"[{record.Activity}]{pct} {record.StatusDescription}");
        }
        public override string ReadLine() => Console.ReadLine() ?? "";
        public override SecureString ReadLineAsSecureString() => throw new NotSupportedException("MessHost is not interactive.");
        public override Dictionary<string, PSObject> Prompt(string caption, string message, System.Collections.ObjectModel.Collection<FieldDescription> descriptions) =>
            throw new NotSupportedException("MessHost is not interactive: pass every parameter.");
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) =>
            throw new NotSupportedException("MessHost is not interactive: pass -Credential.");
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) =>
            throw new NotSupportedException("MessHost is not interactive: pass -Credential.");
        public override int PromptForChoice(string caption, string message, System.Collections.ObjectModel.Collection<ChoiceDescription> choices, int defaultChoice)
        {
            Console.Error.WriteLine($"{caption}: {message} -> '{choices[defaultChoice].Label}' (not interactive: default taken)");
            return defaultChoice;
        }
    }

    internal sealed class RawUi : PSHostRawUserInterface
    {
        private static int Width => Console.IsOutputRedirected ? 160 : Math.Max(80, Console.WindowWidth);
        public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
        public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
        public override Coordinates CursorPosition { get; set; }
        public override Coordinates WindowPosition { get; set; }
        public override int CursorSize { get; set; }
        public override Size BufferSize { get => new(Width, 9999); set { } }
        public override Size WindowSize { get => new(Width, 50); set { } }
        public override Size MaxWindowSize => new(Width, 50);
        public override Size MaxPhysicalWindowSize => new(Width, 50);
        public override bool KeyAvailable => false;
        public override string WindowTitle { get; set; } = "MessHost";
        public override KeyInfo ReadKey(ReadKeyOptions options) => throw new NotSupportedException();
        public override void FlushInputBuffer() { }
        public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }
        public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
        public override BufferCell[,] GetBufferContents(Rectangle rectangle) => new BufferCell[0, 0];
        public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }
    }
}
