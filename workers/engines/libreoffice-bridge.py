"""Drive one LibreOffice listener over UNO for the Node worker.

Usage: python3 libreoffice-bridge.py SOFFICE PROFILE_DIR PIPE_NAME PARENT_PID

Start soffice with its own profile, listening on a named pipe, connect to
it, then read one JSON request per line on stdin:

    {"id": 1, "input": "/abs/in.docx", "output": "/abs/out.pdf",
     "filter": "writer_pdf_Export", "importFilter": "MS Word 2007 XML",
     "kind": "word", "options": {...}}

and write one JSON result per line on stdout:

    {"id": 1, "ok": true}
    {"id": 1, "ok": false, "code": "invalid_input", "message": "..."}

A failed result's code is damaged_package (check_package found a damaged
ZIP or XML part, and the message is complete), resource_limit_exceeded,
invalid_input (LibreOffice could not load the file) or engine_error.

kind is word, slides, spreadsheet or csv. Spreadsheets and CSV take the
options landscape and fitToWidth, and CSV (UTF-8 only) takes csvDelimiter.

The first line written is {"ready": true, "sofficePid": N} once the
listener accepts connections. soffice stays in the bridge's process group,
so the worker can kill both with one signal to the group. On end of stdin
the bridge terminates soffice and exits.

The bridge owns PROFILE_DIR. However it ends, short of a SIGKILL of the
bridge itself, it stops soffice, killing it unless stdin ended, and then
removes PROFILE_DIR and the pipe sockets that soffice left in /tmp. That
covers a closed stdout, an exception, SIGTERM, SIGHUP and SIGINT, and the
exit of PARENT_PID (the worker), even in the middle of a conversion.

Needs Debian's /usr/bin/python3, because the uno module is built for it,
and Linux's /proc, from which the cleanup reads soffice's processes and
sockets.
"""

import ctypes
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.parsers.expat
import zipfile

import uno
from com.sun.star.beans import PropertyValue

CONNECT_TIMEOUT_S = 60
# How long soffice may take to exit after desktop.terminate() before the
# bridge kills it.
TERMINATE_TIMEOUT_S = 10
# How long the killed processes of the group may take to disappear.
KILL_TIMEOUT_S = 5
# How often the watchdog checks that the worker is still the parent. The
# check covers systems without PR_SET_PDEATHSIG and a worker that died
# before the bridge set it.
PARENT_POLL_S = 1
# Signals after which the bridge stops soffice and exits.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
# prctl option from <linux/prctl.h>: the signal that the kernel sends this
# process when the thread that forked it exits.
PR_SET_PDEATHSIG = 1
# Maximum sum of the uncompressed sizes that a package's ZIP directory
# declares for its entries. A package over it is rejected before anything is
# inflated, so a ZIP bomb that declares its size (4 GiB of zeros deflate to
# about 4 MB) never reaches LibreOffice.
MAX_PACKAGE_BYTES = 1024 * 1024 * 1024
# Maximum bytes of inflated XML that check_package reads from one document.
# A package over it is rejected before LibreOffice opens it.
MAX_PACKAGE_XML_BYTES = 512 * 1024 * 1024
# The first bytes of a ZIP file that starts with an entry, as OOXML and ODF
# packages do.
ZIP_LOCAL_HEADER = b"PK\x03\x04"
# Appended to every damaged_package message.
RESAVE_HINT = " Re-save or re-export the file and upload it again."
# Values of css.document.MacroExecMode and css.document.UpdateDocMode that
# stop macros from running and links from updating while a document loads.
NEVER_EXECUTE = 0
NO_UPDATE = 0
# Written into a new profile before the first start. Blocking links from
# untrusted referers stops linked images (an http: picture in a DOCX, for
# example) from being fetched while a document loads or exports. With
# LibreOffice 7.4 a test server got zero requests with it and several
# without it.
PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop
 oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value>
</prop></item>
</oor:items>
"""


def props(**values):
    result = []
    for name, value in values.items():
        prop = PropertyValue()
        prop.Name = name
        prop.Value = value
        result.append(prop)
    return tuple(result)


def seed_profile(profile_dir):
    settings = os.path.join(profile_dir, "user", "registrymodifications.xcu")
    if os.path.exists(settings):
        return
    os.makedirs(os.path.dirname(settings), exist_ok=True)
    with open(settings, "w", encoding="utf-8") as file:
        file.write(PROFILE_SETTINGS)


def start_soffice(soffice, profile_dir, pipe_name):
    seed_profile(profile_dir)
    profile_url = uno.systemPathToFileUrl(os.path.abspath(profile_dir))
    # soffice keeps its temporary files (the lu*.tmp directory) in TMPDIR.
    # Inside the profile, they go with it even when soffice is killed.
    temp_dir = os.path.join(profile_dir, "tmp")
    os.makedirs(temp_dir, exist_ok=True)
    return subprocess.Popen(
        [
            soffice,
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nodefault",
            "--nolockcheck",
            "-env:UserInstallation=" + profile_url,
            "--accept=pipe,name=%s;urp;" % pipe_name,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": temp_dir},
    )


def connect(process, pipe_name):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    url = "uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe_name
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        try:
            context = resolver.resolve(url)
            return context.ServiceManager.createInstanceWithContext(
                "com.sun.star.frame.Desktop", context
            )
        except Exception:
            if process.poll() is not None:
                raise RuntimeError(
                    "soffice exited with code %s before it accepted "
                    "connections" % process.returncode
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "soffice did not accept connections within %d s"
                    % CONNECT_TIMEOUT_S
                )
            time.sleep(0.1)


def csv_filter_options(options):
    """Build the CSV import filter string: separator, quote, charset, row.

    Separator and quote are decimal character codes. The worker has already
    re-encoded the file as UTF-8, which is character set 76
    (RTL_TEXTENCODING_UTF8), because Calc's filter string takes numbers and
    a few legacy names, and falls back to the system encoding for any other
    name.
    """
    delimiter = options.get("csvDelimiter") or ","
    return "%d,34,76,1" % ord(delimiter)


def load(desktop, input_path, request):
    arguments = dict(
        Hidden=True,
        ReadOnly=True,
        MacroExecutionMode=NEVER_EXECUTE,
        UpdateDocMode=NO_UPDATE,
    )
    if request.get("importFilter"):
        arguments["FilterName"] = request["importFilter"]
    if request.get("kind") == "csv":
        arguments["FilterName"] = "Text - txt - csv (StarCalc)"
        arguments["FilterOptions"] = csv_filter_options(
            request.get("options") or {}
        )
    url = uno.systemPathToFileUrl(os.path.abspath(input_path))
    return desktop.loadComponentFromURL(url, "_blank", 0, props(**arguments))


def apply_page_setup(document, options):
    landscape = bool(options.get("landscape"))
    fit_to_width = bool(options.get("fitToWidth"))
    if not landscape and not fit_to_width:
        return
    page_styles = document.StyleFamilies.getByName("PageStyles")
    sheets = document.Sheets
    used = set(
        sheets.getByIndex(i).PageStyle for i in range(sheets.getCount())
    )
    for name in used:
        style = page_styles.getByName(name)
        if landscape and not style.IsLandscape:
            # Swap the sides too, because IsLandscape alone keeps the
            # portrait width.
            size = style.Size
            style.IsLandscape = True
            if size.Width < size.Height:
                size.Width, size.Height = size.Height, size.Width
                style.Size = size
        if fit_to_width:
            # One page wide, as many pages tall as needed (0 = no limit).
            style.ScaleToPagesX = 1
            style.ScaleToPagesY = 0


def looks_like_zip(input_path):
    """Tell whether the file is a ZIP, or starts like one but is cut short.

    is_zipfile looks for the end of the ZIP directory, which a truncated
    file lacks, so the first bytes are checked too.
    """
    if zipfile.is_zipfile(input_path):
        return True
    with open(input_path, "rb") as file:
        return file.read(len(ZIP_LOCAL_HEADER)) == ZIP_LOCAL_HEADER


def check_declared_size(package):
    """Return a failure when the entries declare too many bytes, or None.

    zipfile (CPython 3.11) never inflates an entry past the size that the
    ZIP directory declares for it, so this bounds what check_package reads.
    NOTE: only XML parts are inflated here, so a media part that inflates
    past its declared size is not caught before LibreOffice reads it.
    """
    entries = package.infolist()
    declared = sum(info.file_size for info in entries)
    if declared <= MAX_PACKAGE_BYTES:
        return None
    largest = max(entries, key=lambda info: info.file_size)
    return failure(
        "resource_limit_exceeded",
        "The package's entries unpack to {:,} bytes, more than the limit "
        "of {:,} bytes ({} GiB). The largest, {}, unpacks to {:,} "
        "bytes.".format(
            declared,
            MAX_PACKAGE_BYTES,
            MAX_PACKAGE_BYTES >> 30,
            largest.filename,
            largest.file_size,
        ),
    )


def check_xml_parts(package):
    """Parse every XML part of an open package and return a failure or None."""
    total = 0
    for info in package.infolist():
        name = info.filename
        if not name.endswith((".xml", ".rels")):
            continue
        # expat resolves no external entities and, from 2.4 on, limits
        # entity expansion.
        parser = xml.parsers.expat.ParserCreate()
        try:
            with package.open(info) as part:
                while chunk := part.read(1 << 16):
                    total += len(chunk)
                    if total > MAX_PACKAGE_XML_BYTES:
                        return failure(
                            "resource_limit_exceeded",
                            "The document's XML inflates to more than "
                            "%d MB." % (MAX_PACKAGE_XML_BYTES >> 20),
                        )
                    parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except xml.parsers.expat.ExpatError as error:
            return failure(
                "damaged_package",
                "The part %s is not well-formed XML (%s)." % (name, error)
                + RESAVE_HINT,
            )
        except Exception as error:
            what = "the part %s cannot be unpacked" % name
            return unpack_failure(what, error)
    return None


def unpack_failure(what, error):
    """Build the failure for an archive that zipfile cannot read.

    zipfile raises many types for a damaged archive: BadZipFile, EOFError,
    UnicodeDecodeError for a mangled name, zlib.error for damaged deflate
    data and NotImplementedError for an unknown compression method.
    """
    kind = type(error)
    name = kind.__name__
    if kind.__module__ not in ("builtins", "zipfile"):
        name = "%s.%s" % (kind.__module__, name)  # zlib.error, for example
    return failure(
        "damaged_package",
        "The ZIP package is truncated or damaged, so %s (%s: %s)."
        % (what, name, error)
        + RESAVE_HINT,
    )


def check_package(input_path):
    """Return a failure for a ZIP package that is damaged or too big, or None.

    LibreOffice skips an OOXML or ODF part that is not well-formed XML and
    converts the rest, so a damaged sheet or slide becomes a blank page.
    Parsing every part first turns that into an error. Files that are not
    ZIP packages are left to LibreOffice.
    """
    if not looks_like_zip(input_path):
        return None
    try:
        package = zipfile.ZipFile(input_path)
    except Exception as error:
        return unpack_failure("its ZIP directory cannot be read", error)
    with package:
        return check_declared_size(package) or check_xml_parts(package)


def convert(desktop, request):
    # CSV is text and goes to Calc's CSV filter, whatever its bytes.
    if request.get("kind") != "csv":
        damaged = check_package(request["input"])
        if damaged is not None:
            return damaged
    try:
        document = load(desktop, request["input"], request)
    except Exception as error:
        # loadComponentFromURL raises IllegalArgumentException or
        # IOException for a file that the import filter cannot read.
        return failure("invalid_input", error)
    if document is None:
        return failure(
            "invalid_input", "the import filter returned no document"
        )

    try:
        if request.get("kind") in ("spreadsheet", "csv"):
            if not hasattr(document, "Sheets"):
                return failure(
                    "invalid_input", "The file is not a spreadsheet."
                )
            apply_page_setup(document, request.get("options") or {})
        url = uno.systemPathToFileUrl(os.path.abspath(request["output"]))
        document.storeToURL(url, props(FilterName=request["filter"]))
        return {"ok": True}
    except Exception as error:
        return failure("engine_error", error)
    finally:
        try:
            document.close(True)
        except Exception:
            # A disposed document needs no close. The caller checks soffice.
            pass


def failure(code, error):
    if isinstance(error, str):
        message = error
    else:
        detail = getattr(error, "Message", "") or str(error)
        message = "%s: %s" % (type(error).__name__, detail)
    return {"ok": False, "code": code, "message": message}


def write(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def log(message):
    """Write a line to stderr, which the worker may no longer read."""
    try:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    except OSError:
        pass


def osl_pipe_path(pipe_name):
    """Return the socket that soffice creates for --accept=pipe,name=...

    LibreOffice's osl layer (sal/osl/unx/pipe.cxx) puts its pipes in /tmp,
    or in /var/tmp when /tmp is not writable, named OSL_PIPE_<uid>_<name>,
    whatever TMPDIR is. soffice removes them only when it terminates
    cleanly.
    """
    parent = "/tmp" if os.access("/tmp", os.W_OK) else "/var/tmp"
    return os.path.join(parent, "OSL_PIPE_%d_%s" % (os.getuid(), pipe_name))


def osl_pipes_of(pids):
    """Return the osl pipe sockets that the processes `pids` have open.

    Besides the --accept pipe, soffice listens on SingleOfficeIPC_<hash>,
    named after a digest of the profile's URL. Reading the sockets from
    /proc finds both without recomputing that digest.
    """
    inodes = set()
    for pid in pids:
        fd_dir = "/proc/%d/fd" % pid
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue  # The process exited.
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    paths = set()
    try:
        with open("/proc/net/unix", encoding="utf-8") as file:
            next(file)  # The header.
            for line in file:
                # Num RefCount Protocol Flags Type St Inode [Path]
                fields = line.rstrip("\n").split(None, 7)
                if len(fields) < 8 or fields[6] not in inodes:
                    continue
                if os.path.basename(fields[7]).startswith("OSL_PIPE_"):
                    paths.add(fields[7])
    except OSError as error:
        log("Failed to read /proc/net/unix: %s" % error)
    return paths


def group_members():
    """Return the live processes of this process group other than this one.

    Reads /proc, so it finds soffice.bin too, which is the child of
    oosplash and not of the bridge. Zombies are left out because they hold
    no files and a kill cannot end them.
    """
    group = os.getpgrp()
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as file:
                stat = file.read()
        except OSError:
            continue  # The process exited while the list was read.
        # The command name in brackets may contain spaces and brackets, so
        # the fields are counted from the last ")": state, ppid, pgrp.
        fields = stat[stat.rindex(b")") + 2 :].split()
        if int(fields[2]) == group and fields[0] != b"Z":
            members.append(int(entry))
    return members


class Listener:
    """The soffice that the bridge started, and its cleanup.

    stop() runs once whichever thread calls it first: the main thread when
    the bridge ends, or the watchdog after a signal or the worker's exit.
    A second caller waits until the first is done.
    """

    def __init__(self, soffice, profile_dir, pipe_name):
        self.soffice = soffice
        self.profile_dir = profile_dir
        self.pipe_name = pipe_name
        self.pipe_path = osl_pipe_path(pipe_name)
        self.process = None
        self.desktop = None
        self._lock = threading.Lock()
        self._stopped = False

    def start(self):
        """Start soffice, unless stop() ran already.

        The lock keeps a stop() in the watchdog from scanning the group
        while soffice is being forked, which could miss it.
        """
        with self._lock:
            if self._stopped:
                raise RuntimeError(
                    "soffice was not started because the bridge is stopping"
                )
            self.process = start_soffice(
                self.soffice, self.profile_dir, self.pipe_name
            )
        return self.process

    def stop(self, graceful, exit_code=None):
        """Stop soffice, then remove the profile and the pipe sockets.

        With graceful, soffice is asked to terminate first, which only the
        main thread may do, because a conversion may still be running. With
        exit_code, the process exits with it before releasing the lock, so
        the main thread, which may be waiting for the lock, does not exit
        with its own code.
        """
        with self._lock:
            try:
                if not self._stopped:
                    self._stopped = True
                    self._clean_up(graceful)
            finally:
                if exit_code is not None:
                    os._exit(exit_code)

    def _clean_up(self, graceful):
        if graceful:
            self._terminate()
        sockets = self._kill_group()
        shutil.rmtree(self.profile_dir, onerror=self._log_removal_error)
        for path in sockets | {self.pipe_path}:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as error:
                log("Failed to remove %s: %s" % (path, error))

    def _terminate(self):
        if self.desktop is not None:
            try:
                self.desktop.terminate()
            except Exception:
                pass  # The listener is gone already.
        if self.process is not None:
            try:
                self.process.wait(timeout=TERMINATE_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log(
                    "soffice did not exit within %d s of terminate(), so "
                    "it is killed" % TERMINATE_TIMEOUT_S
                )

    def _kill_group(self):
        """Kill oosplash, soffice.bin and anything else in the group.

        Returns the osl pipe sockets that the killed processes had open,
        which they leave behind.

        NOTE: processes that soffice moved to another process group are
        not found. LibreOffice 7.4 started no process at all while it
        converted a DOCX.
        """
        sockets = set()
        deadline = time.monotonic() + KILL_TIMEOUT_S
        while True:
            members = group_members()
            if not members:
                break
            if time.monotonic() > deadline:
                log("Processes %s outlived SIGKILL" % members)
                break
            sockets |= osl_pipes_of(members)
            for pid in members:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        if self.process is not None:
            self.process.poll()  # Reaps oosplash.
        return sockets

    @staticmethod
    def _log_removal_error(_function, path, info):
        if not isinstance(info[1], FileNotFoundError):
            log("Failed to remove %s: %s" % (path, info[1]))


def lead_own_process_group():
    """Make the bridge lead its process group, so soffice joins it.

    The worker starts the bridge as a session leader, which leads its group
    already. Started from a shell, the bridge would share the shell job's
    group, and the cleanup would kill the job's other processes.
    """
    if os.getpgrp() != os.getpid():
        os.setpgid(0, 0)


def die_with_parent():
    """Ask the kernel for SIGTERM when the worker dies, SIGKILL included.

    The signal comes when the thread that spawned the bridge exits: Node's
    main thread, or a worker thread if a pool runs in one. Where prctl is
    missing (not Linux), only the watchdog's poll of the parent pid stops
    the bridge.
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except AttributeError:
        return
    if prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
        log("prctl(PR_SET_PDEATHSIG) failed: errno %d" % ctypes.get_errno())


def start_watchdog(listener, parent_pid):
    """Stop soffice and exit at once on a stop signal or the worker's exit.

    Python runs signal handlers in the main thread only between bytecodes,
    which can be minutes away while a UNO call converts a large document.
    The C-level handler writes the signal number to the wakeup fd at once,
    and this thread reads it, because pyuno releases the GIL during a UNO
    call.
    """
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    for signum in STOP_SIGNALS:
        # A Python handler is needed for the wakeup fd to receive the
        # signal. The watchdog acts on it, so the handler does nothing.
        signal.signal(signum, lambda *_: None)
    die_with_parent()

    def watch():
        while True:
            ready, _, _ = select.select([read_fd], [], [], PARENT_POLL_S)
            if ready:
                signum = os.read(read_fd, 1)[0]
                name = signal.Signals(signum).name
                reason = "the bridge received %s" % name
            elif os.getppid() != parent_pid:
                signum = signal.SIGTERM
                reason = "the worker (pid %d) exited" % parent_pid
            else:
                continue
            log("Stopping soffice because %s" % reason)
            listener.stop(graceful=False, exit_code=128 + signum)

    threading.Thread(target=watch, name="watchdog", daemon=True).start()


def serve(listener):
    """Start soffice and convert requests until end of stdin.

    Returns the exit code: 0 at end of stdin, 1 when soffice failed to
    start, 2 when it exited during a conversion.
    """
    process = listener.start()
    try:
        listener.desktop = connect(process, listener.pipe_name)
    except Exception as error:
        write({"ready": False, "message": str(error)})
        return 1
    write({"ready": True, "sofficePid": process.pid})

    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        result = convert(listener.desktop, request)
        result["id"] = request.get("id")
        write(result)
        if process.poll() is not None:
            # Every later request would fail on the dead listener, so exit
            # and let the worker start a new member.
            code = process.returncode
            log("soffice exited with code %s" % code)
            return 2
    return 0


def main():
    soffice, profile_dir, pipe_name, parent_pid = sys.argv[1:5]
    lead_own_process_group()
    listener = Listener(soffice, profile_dir, pipe_name)
    start_watchdog(listener, int(parent_pid))
    # Exit code 3 is a closed stdout. Any other exception exits with 1
    # after its traceback.
    code = 3
    try:
        code = serve(listener)
    except BrokenPipeError:
        # The worker closed stdout, so it is gone and reads no results.
        # Python would fail again flushing stdout at exit, so point it at
        # /dev/null, as the Python documentation on SIGPIPE advises.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        log("Stopping soffice because the worker closed stdout")
    finally:
        # Runs after any exception too, which then prints its traceback.
        listener.stop(graceful=code == 0)
    return code


if __name__ == "__main__":
    sys.exit(main())
