using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace MessTools.Cmdlets.Loading;

/// <summary>
/// MessTools' own AssemblyLoadContext. Only MessTools.dll (the cmdlets) lives in the default context; the
/// engine (MessTools.Core) and everything it depends on (AWSSDK, ONNX Runtime, Npgsql, SQLite, CsvHelper,
/// System.Numerics.Tensors ...) load from Dependencies/ into this context, so other modules' copies of the
/// same libraries, in whatever version, never clash with ours.
/// Rule for the cmdlet assembly: no field (so no auto-property) of a value type defined in the engine. PowerShell
/// scans the module's exported types before it runs any initializer, and laying out such a type would load the
/// engine before this context is installed. Reference types (MessTrack, ArtifactStore ...) are fine.
/// </summary>
internal sealed class MessToolsLoadContext : AssemblyLoadContext
{
    private const string EngineAssemblyName = "MessTools.Core";
    private static readonly object Gate = new();
    private static MessToolsLoadContext? _instance;

    private readonly string _dependencyDir;
    private readonly string _nativeDir;

    private MessToolsLoadContext(string dependencyDir) : base("MessTools", isCollectible: false)
    {
        _dependencyDir = dependencyDir;
        _nativeDir = Path.Combine(dependencyDir, "runtimes", RuntimeId(), "native");
    }

    /// <summary>Hooks the default context so that a request for the engine is answered from our context. Idempotent.</summary>
    internal static void Install()
    {
        lock (Gate)
        {
            if (_instance is not null) return;
            string moduleDir = Path.GetDirectoryName(typeof(MessToolsLoadContext).Assembly.Location)!;
            string deps = Path.Combine(moduleDir, "Dependencies");
            if (!Directory.Exists(deps)) return; // running from a build folder: dependencies sit beside us
            _instance = new MessToolsLoadContext(deps);
            Default.Resolving += ResolveEngine;
        }
    }

    private static Assembly? ResolveEngine(AssemblyLoadContext context, AssemblyName name)
    {
        if (!string.Equals(name.Name, EngineAssemblyName, StringComparison.Ordinal)) return null;
        return _instance?.LoadFromAssemblyName(name);
    }

    protected override Assembly? Load(AssemblyName name)
    {
        string path = Path.Combine(_dependencyDir, name.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null; // framework assemblies come from the default context
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        foreach (string candidate in NativeFileNames(unmanagedDllName))
        {
            string path = Path.Combine(_nativeDir, candidate);
            if (File.Exists(path)) return LoadUnmanagedDllFromPath(path);
        }
        return IntPtr.Zero;
    }

    private static IEnumerable<string> NativeFileNames(string name)
    {
        yield return name;
        string file = Path.GetFileName(name);
        if (OperatingSystem.IsWindows()) { yield return file + ".dll"; yield break; }
        string ext = OperatingSystem.IsMacOS() ? ".dylib" : ".so";
        yield return file + ext;
        if (!file.StartsWith("lib", StringComparison.Ordinal))
        {
            yield return "lib" + file + ext;
            yield return "lib" + file;
        }
    }

    private static string RuntimeId()
    {
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        string arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.Arm64 => "arm64",
            Architecture.X86 => "x86",
            var other => other.ToString().ToLowerInvariant(),
        };
        return os + "-" + arch;
    }
}

/// <summary>Installs the load context before any cmdlet touches the engine: at module load, and again on import.</summary>
internal static class LoadContextBootstrap
{
#pragma warning disable CA2255 // a module initializer is exactly what is needed: it runs before any type of this assembly is used
    [ModuleInitializer]
    internal static void Initialize() => MessToolsLoadContext.Install();
#pragma warning restore CA2255
}

/// <summary>PowerShell calls this on Import-Module.</summary>
public sealed class MessToolsModuleInitializer : System.Management.Automation.IModuleAssemblyInitializer
{
    public void OnImport() => MessToolsLoadContext.Install();
}
