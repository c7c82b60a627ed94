using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Curvature.Backends;
using Curvature.Native.Interop;

namespace Curvature.Native.Internals;

/// <summary>
/// Finds, opens and initialises the native providers, once per process each (library handles and thread settings are
/// process-wide), and owns the assembly's single <see cref="NativeLibrary.SetDllImportResolver"/> registration.
/// </summary>
/// <remarks>
/// The resolver maps the logical names in <see cref="NativeLibraryNames"/> to the handles opened here, so the
/// <c>[LibraryImport]</c> service functions bind to exactly the library whose BLAS/LAPACK function pointers we use,
/// whatever the OS search path would have found. A failed load lists every candidate tried and its error.
/// </remarks>
internal static class NativeLibraryLoader
{
    private static readonly Lock s_lock = new();
    private static nint s_openBlasHandle;
    private static nint s_mklHandle;
    private static NativeProvider? s_openBlas;
    private static NativeProvider? s_mkl;
    private static string? s_mklPermanentFailure;

    static NativeLibraryLoader()
    {
        // Only one resolver may be registered per assembly; this static constructor is the only place that does it.
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);
    }

    /// <summary>Display name of a provider.</summary>
    public static string DisplayName(BackendKind kind) => kind == BackendKind.Mkl ? "Intel MKL" : "OpenBLAS";

    /// <summary>Loads (or returns the already loaded) provider of the given kind.</summary>
    /// <param name="kind"><see cref="BackendKind.OpenBlas"/> or <see cref="BackendKind.Mkl"/>.</param>
    /// <param name="explicitPath">A library path to use instead of probing the usual names.</param>
    /// <param name="reproducible">MKL: turn on conditional numerical reproducibility (ignored for OpenBLAS).</param>
    /// <exception cref="BackendUnavailableException">No candidate could be loaded (the message lists each one and its error),
    /// or MKL refused the reproducible mode.</exception>
    public static NativeProvider Load(BackendKind kind, string? explicitPath, bool reproducible = false)
    {
        if (kind is not (BackendKind.OpenBlas or BackendKind.Mkl))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a native provider.");
        }

        lock (s_lock)
        {
            var cached = kind == BackendKind.Mkl ? s_mkl : s_openBlas;
            if (cached is not null)
            {
                if (reproducible && kind == BackendKind.Mkl && !cached.Reproducible)
                {
                    EnableMklReproducibility(cached.LibraryPath, afterUse: true);
                    cached.Reproducible = true;
                }

                if (explicitPath is null || explicitPath == cached.LibraryPath)
                {
                    return cached;
                }

                // Another name for the same file (dlopen returns the same handle) is fine; a different library is not.
                var pathTrace = new StringBuilder();
                if (!TryOpen(explicitPath, pathTrace, out nint other))
                {
                    throw new BackendUnavailableException($"Could not load {DisplayName(kind)}. Tried:{Environment.NewLine}{pathTrace}");
                }

                NativeLibrary.Free(other);
                if (other == cached.Handle)
                {
                    return cached;
                }

                throw new BackendUnavailableException(
                    $"{DisplayName(kind)} is already loaded in this process from '{cached.LibraryPath}'; library handles are process-wide, " +
                    $"so '{explicitPath}' cannot be loaded as a second {DisplayName(kind)}.");
            }

            if (kind == BackendKind.Mkl && s_mklPermanentFailure is not null)
            {
                throw new BackendUnavailableException(s_mklPermanentFailure);
            }

            var trace = new StringBuilder();
            string[] candidates = explicitPath is null ? Candidates(kind) : [explicitPath];
            foreach (string candidate in candidates)
            {
                if (!TryOpen(candidate, trace, out nint handle))
                {
                    continue;
                }

                string identity = IdentitySymbol(kind);
                if (!NativeLibrary.TryGetExport(handle, identity, out _))
                {
                    trace.AppendLine($"  {candidate}: loaded, but it is not {DisplayName(kind)} (no '{identity}' export)");
                    NativeLibrary.Free(handle);
                    continue;
                }

                var exports = BlasLapackExports.TryCreate(handle, out string missing);
                if (exports is null)
                {
                    trace.AppendLine($"  {candidate}: loaded, but it lacks {missing}");
                    NativeLibrary.Free(handle);
                    continue;
                }

                try
                {
                    var provider = kind == BackendKind.Mkl
                        ? InitialiseMkl(candidate, handle, exports, reproducible)
                        : InitialiseOpenBlas(candidate, handle, exports);
                    if (kind == BackendKind.Mkl)
                    {
                        s_mkl = provider;
                    }
                    else
                    {
                        s_openBlas = provider;
                    }

                    return provider;
                }
                catch (BackendUnavailableException e)
                {
                    trace.AppendLine($"  {candidate}: {e.Message}");
                    if (s_mklPermanentFailure is not null && kind == BackendKind.Mkl)
                    {
                        break;
                    }
                }
            }

            throw new BackendUnavailableException(
                $"Could not load {DisplayName(kind)}. Tried:{Environment.NewLine}{trace}" +
                $"Install it (native/install-native-libs.sh on Debian: {(kind == BackendKind.Mkl ? "libmkl-rt" : "libopenblas0-pthread")}) " +
                $"or point {BackendSelector.LibraryPathEnvironmentVariable} / NativeBackendOptions.LibraryPath at the library.");
        }
    }

    /// <summary>Opens <paramref name="path"/> to tell which provider it is. A recognised library stays open (the following
    /// <see cref="Load"/> gets the same handle): unloading and reloading a BLAS that starts a thread pool buys nothing.</summary>
    /// <exception cref="BackendUnavailableException">It cannot be opened, or it is neither OpenBLAS nor MKL.</exception>
    public static BackendKind DetectKind(string path)
    {
        var trace = new StringBuilder();
        if (!TryOpen(path, trace, out nint handle))
        {
            throw new BackendUnavailableException($"Could not load the native library. Tried:{Environment.NewLine}{trace}");
        }

        if (NativeLibrary.TryGetExport(handle, IdentitySymbol(BackendKind.Mkl), out _))
        {
            return BackendKind.Mkl;
        }

        if (NativeLibrary.TryGetExport(handle, IdentitySymbol(BackendKind.OpenBlas), out _))
        {
            return BackendKind.OpenBlas;
        }

        NativeLibrary.Free(handle);
        throw new BackendUnavailableException(
            $"Could not load the native library. Tried:{Environment.NewLine}  {path}: loaded, but it is neither OpenBLAS " +
            $"(no '{IdentitySymbol(BackendKind.OpenBlas)}') nor Intel MKL (no '{IdentitySymbol(BackendKind.Mkl)}')");
    }

    /// <summary>The names and paths probed for a provider, in order.</summary>
    public static string[] Candidates(BackendKind kind)
    {
        var list = new List<string>();
        if (OperatingSystem.IsWindows())
        {
            list.AddRange(kind == BackendKind.Mkl ? ["mkl_rt.2.dll", "mkl_rt.1.dll", "mkl_rt.dll"] : ["libopenblas.dll", "openblas.dll"]);
        }
        else if (OperatingSystem.IsMacOS())
        {
            list.AddRange(kind == BackendKind.Mkl
                ? ["libmkl_rt.2.dylib", "libmkl_rt.dylib"]
                : ["libopenblas.0.dylib", "libopenblas.dylib", "/opt/homebrew/opt/openblas/lib/libopenblas.dylib", "/usr/local/opt/openblas/lib/libopenblas.dylib"]);
        }
        else
        {
            string multiarch = RuntimeInformation.ProcessArchitecture switch
            {
                Architecture.Arm64 => "aarch64-linux-gnu",
                _ => "x86_64-linux-gnu",
            };
            if (kind == BackendKind.Mkl)
            {
                list.AddRange(
                [
                    "libmkl_rt.so",
                    "libmkl_rt.so.2",
                    "libmkl_rt.so.1",
                    $"/usr/lib/{multiarch}/libmkl_rt.so",
                    "/opt/intel/oneapi/mkl/latest/lib/libmkl_rt.so.2",
                    "/opt/intel/oneapi/mkl/latest/lib/intel64/libmkl_rt.so.2",
                    "/opt/intel/mkl/lib/intel64/libmkl_rt.so",
                ]);
            }
            else
            {
                list.AddRange(
                [
                    "libopenblas.so.0",
                    $"/usr/lib/{multiarch}/openblas-pthread/libopenblas.so.0",
                    $"/usr/lib/{multiarch}/openblas-openmp/libopenblas.so.0",
                    $"/usr/lib/{multiarch}/openblas-serial/libopenblas.so.0",
                    "libopenblas.so",
                    "/usr/lib64/libopenblas.so.0",
                    "/usr/local/lib/libopenblas.so.0",
                    "/opt/OpenBLAS/lib/libopenblas.so.0",
                ]);
            }
        }

        return [.. list];
    }

    private static string IdentitySymbol(BackendKind kind) => kind == BackendKind.Mkl ? MklServices.IdentityExport : OpenBlasServices.IdentityExport;

    /// <summary>
    /// Opens a candidate. On Linux (glibc) it is opened with <c>RTLD_LOCAL | RTLD_DEEPBIND</c>, so that each provider's
    /// calls to its own exported routines bind to itself: MKL puts its LAPACK layer into the global scope, and OpenBLAS's
    /// internal calls (<c>?syevd</c> → <c>dsytrd_</c>, <c>?potri</c> → <c>dtrtri_</c>…) would otherwise run MKL's code
    /// whenever MKL was loaded first, making the "openblas" backend depend on load order.
    /// </summary>
    private static bool TryOpen(string candidate, StringBuilder trace, out nint handle)
    {
        handle = 0;
        if (DynamicLinker.IsAvailable)
        {
            handle = DynamicLinker.OpenIsolated(candidate, out string? error);
            if (handle == 0)
            {
                trace.AppendLine($"  {candidate}: {error}");
                return false;
            }

            return true;
        }

        try
        {
            handle = NativeLibrary.Load(candidate);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException or ArgumentException)
        {
            trace.AppendLine($"  {candidate}: {e.Message}");
            return false;
        }
    }

    private static NativeProvider InitialiseOpenBlas(string path, nint handle, BlasLapackExports exports)
    {
        s_openBlasHandle = handle;
        string config = OpenBlasServices.GetConfiguration();
        var provider = new NativeProvider(
            BackendKind.OpenBlas, path, FileOf(handle, path), handle, exports, config,
            "OpenBLAS thread pool, process-wide count (openblas_set_num_threads)");
        provider.SetThreadCount(1);
        return provider;
    }

    private static NativeProvider InitialiseMkl(string path, nint handle, BlasLapackExports exports, bool reproducible)
    {
        s_mklHandle = handle;

        // Must precede every other MKL call, and it wins over MKL_INTERFACE_LAYER in the environment; it returns the
        // layer in force, which must be LP64 (32-bit integers) for our int-based signatures. Once a service function has
        // been bound to this handle it stays bound, so a failure here is permanent for the process.
        int layer = MklServices.SetInterfaceLayer(MklServices.InterfaceLp64);
        if ((layer & MklServices.InterfaceIlp64Bit) != 0 || layer < 0)
        {
            s_mklPermanentFailure = $"MKL at '{path}' refused the LP64 interface layer (the interface layer call returned {layer}); " +
                "Curvature passes 32-bit integers and cannot use the ILP64 layer.";
            throw new BackendUnavailableException(s_mklPermanentFailure);
        }

        // The sequential layer: the Intel OpenMP layer (MKL's default) needs libiomp5, which Debian does not ship, and MKL
        // aborts the process when it cannot load it; the GNU layer needs libgomp loaded with RTLD_GLOBAL beforehand.
        int threading = MklServices.SetThreadingLayer(MklServices.ThreadingSequential);
        if (threading != MklServices.ThreadingSequential)
        {
            s_mklPermanentFailure = $"MKL at '{path}' refused the sequential threading layer (the threading layer call returned {threading}).";
            throw new BackendUnavailableException(s_mklPermanentFailure);
        }

        // Conditional numerical reproducibility must be chosen before any computation (mkl_cbwr_set's contract).
        if (reproducible)
        {
            EnableMklReproducibility(path, afterUse: false);
        }

        string version = MklServices.GetVersion();
        var provider = new NativeProvider(
            BackendKind.Mkl, path, FileOf(handle, path), handle, exports, version,
            "MKL sequential threading layer (calls run on the calling thread), LP64 interface")
        {
            Reproducible = MklServices.GetReproducibilityBranch() != 0, // also on when MKL_CBWR is set
        };
        provider.SetThreadCount(1);
        return provider;
    }

    private static void EnableMklReproducibility(string path, bool afterUse)
    {
        int status = MklServices.SetReproducibility(MklServices.CbwrAuto);
        if (status != MklServices.CbwrSuccess)
        {
            throw new BackendUnavailableException(
                $"MKL at '{path}' refused the reproducible mode (mkl_cbwr_set returned {status})" +
                (afterUse
                    ? "; it was loaded without it and has been used since: ask for the reproducible mode on the first load of MKL in the process, or set MKL_CBWR=AUTO."
                    : "."));
        }
    }

    /// <summary>The file a loaded library was mapped from (Linux: the <c>/proc/self/maps</c> entry holding one of its
    /// exports), or <paramref name="name"/> when that cannot be told.</summary>
    private static string FileOf(nint handle, string name)
    {
        try
        {
            if (!OperatingSystem.IsLinux() || !NativeLibrary.TryGetExport(handle, BlasLapackExports.ProbeExport, out nint symbol))
            {
                return name;
            }

            foreach (string line in File.ReadLines("/proc/self/maps"))
            {
                // start-end perms offset dev inode path
                int dash = line.IndexOf('-');
                int space = line.IndexOf(' ');
                int slash = line.IndexOf('/');
                if (dash <= 0 || space <= dash || slash < 0)
                {
                    continue;
                }

                ulong start = Convert.ToUInt64(line[..dash], 16);
                ulong end = Convert.ToUInt64(line[(dash + 1)..space], 16);
                if ((ulong)symbol >= start && (ulong)symbol < end)
                {
                    return line[slash..].Trim();
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            // Best effort only: fall back to the name the library was loaded by.
        }

        return name;
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) => libraryName switch
    {
        NativeLibraryNames.OpenBlas => s_openBlasHandle,
        NativeLibraryNames.Mkl => s_mklHandle,
        _ => 0,
    };
}
