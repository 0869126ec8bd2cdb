"""Drive one LibreOffice listener over UNO for the Node worker.

Usage: python3 libreoffice-bridge.py SOFFICE PROFILE_DIR PIPE_NAME

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

Needs Debian's /usr/bin/python3, because the uno module is built for it.
"""

import json
import os
import subprocess
import sys
import time
import xml.parsers.expat
import zipfile

import uno
from com.sun.star.beans import PropertyValue

CONNECT_TIMEOUT_S = 60
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


def main():
    soffice, profile_dir, pipe_name = sys.argv[1:4]
    process = start_soffice(soffice, profile_dir, pipe_name)
    try:
        desktop = connect(process, pipe_name)
    except Exception as error:
        process.kill()
        write({"ready": False, "message": str(error)})
        return 1
    write({"ready": True, "sofficePid": process.pid})

    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        result = convert(desktop, request)
        result["id"] = request.get("id")
        write(result)
        if process.poll() is not None:
            # Every later request would fail on the dead listener, so exit
            # and let the worker start a new member.
            code = process.returncode
            sys.stderr.write("soffice exited with code %s\n" % code)
            return 2

    try:
        desktop.terminate()
    except Exception:
        pass  # The listener is gone already, and the wait below still applies.
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
