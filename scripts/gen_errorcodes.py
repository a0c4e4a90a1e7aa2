#!/usr/bin/env python3
"""Generate imgscan/data/errorcodes.json, the error-code knowledge base behind `imgscan explain`.

Sources (all machine-readable, all Debian packages):
- names and values: mingw-w64's winerror.h (Win32 errors, HRESULTs), ntstatus.h
  (NTSTATUS), wuerror.h (Windows Update WU_E_*) and slerror.h (a few licensing SL_E_*),
  package mingw-w64-common;
- message texts: the RT_MESSAGETABLE of Wine's kernelbase.dll (compiled from
  Wine's winerror.mc, LGPL-2.1), package libwine, read with pefile;
- CBS_E_* and SL_E_* codes of this domain, which no public header carries: the small table
  DOMAIN_CODES below, each with the page it comes from; and DOMAIN_MESSAGES, the
  Windows SDK MessageText of this domain's trust codes (../shared/domain.md's
  table), for which Wine has no text (the KB2705219 write-up quotes CERT_E_EXPIRED's verbatim);
- Windows Update codes, which wuerror.h names but Wine has no text for, and Windows Setup's, which no
  public header names: UPDATE_CODES (WU_E_*, WU_S_*) and UPGRADE_CODES (MOSETUP_E_*, 0xC1900101 and
  its family), each code with its name and the description Microsoft's page (cited above each group) gives it.

Each code is one entry, keyed by its 32-bit value: the first name the headers give that value
(in the order winerror.h, wuerror.h, DOMAIN_CODES, UPDATE_CODES, UPGRADE_CODES, slerror.h, ntstatus.h) is its `name`, the
others are its `aliases`, each with the kind of code it names: 0 is ERROR_SUCCESS, also NO_ERROR
(win32), S_OK (hresult) and STATUS_SUCCESS (ntstatus). The message is the value's, as Windows'
FormatMessage gives it whatever name it was looked up by; a value Wine has no text for takes the
cited one of these tables.

    apt-get install mingw-w64-common libwine
    .venv/bin/python scripts/gen_errorcodes.py    # pefile comes with imgscan

The output is committed; rerun only to refresh it.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import pefile

HEADERS = Path("/usr/share/mingw-w64/include")
KERNELBASE = Path("/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/kernelbase.dll")
OUT = Path(__file__).resolve().parent.parent / "imgscan" / "data" / "errorcodes.json"
RT_MESSAGETABLE = 11

DOMAIN_CODES = {
    # https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-error-codes (CBS_E_*)
    0x800F0805: ("CBS_E_INVALID_PACKAGE", "The update package was not a valid servicing package."),
    0x800F081E: ("CBS_E_NOT_APPLICABLE", "The package is not applicable to this image."),
    0x800F081F: ("CBS_E_SOURCE_MISSING", "The source files could not be found."),
    0x800F0900: ("CBS_E_XML_PARSER_FAILURE", "An unexpected internal XML parser error occurred."),
    0x800F0831: ("CBS_E_STORE_CORRUPTION", "CBS store is corrupted."),
    0x800F0922: ("CBS_E_INSTALLERS_FAILED", "Processing advanced installers and generic commands failed."),
    0x800F0906: ("CBS_E_DOWNLOAD_FAILURE", "The source files could not be downloaded."),
    # https://learn.microsoft.com/en-us/troubleshoot/windows-client/installing-updates-features-roles/
    # troubleshoot-windows-update-error-0x80070bc9 (offline servicing of an image with pending operations)
    0x800F0806: ("CBS_E_PENDING", "The operation could not be completed because servicing operations are pending a restart."),
    # https://learn.microsoft.com/en-us/troubleshoot/windows-client/installing-updates-features-roles/
    # troubleshoot-windows-update-error-0x800f0823
    0x800F0823: ("CBS_E_NEW_SERVICING_STACK_REQUIRED", "Package needs a newer version of the servicing stack."),
    # ERROR_FAIL_REBOOT_REQUIRED (3017), newer than mingw-w64's winerror.h: same troubleshooting page as 0x80070BC9
    0x80070BC9: (
        "HRESULT_FROM_WIN32(ERROR_FAIL_REBOOT_REQUIRED)",
        "The requested operation failed. A system reboot is required to roll back changes made.",
    ),
    # SL_E_* (Software Licensing, HRESULTs of FACILITY_ITF): https://learn.microsoft.com/en-us/windows-server/
    # get-started/activation-error-codes; ESU: https://learn.microsoft.com/en-us/troubleshoot/windows-client/
    # windows-7-eos-faq/troubleshoot-extended-security-updates-issues
    0xC004F050: ("SL_E_INVALID_PRODUCT_KEY", "The Software Licensing Service reported that the product key is invalid."),
    0xC004F069: (
        "SL_E_PRODUCT_SKU_NOT_INSTALLED",
        "The Software Licensing Service reported that the computer could not be activated. The product SKU is not found.",
    ),
    0xC004F038: (
        "SL_E_VL_NOT_ENOUGH_COUNT",
        "The Software Licensing Service reported that the computer could not be activated. The count reported by your "
        "Key Management Service (KMS) is insufficient.",
    ),
    0xC004F009: ("SL_E_GRACE_TIME_EXPIRED", "The Software Licensing Service reported that the grace period expired."),
}

# Windows SDK winerror.h MessageText blocks (also printed by Microsoft's err.exe).
DOMAIN_MESSAGES = {
    0x800B0001: "Unknown trust provider.",
    0x800B0100: "No signature was present in the subject.",
    0x800B0101: "A required certificate is not within its validity period when verifying against the current "
    "system clock or the timestamp in the signed file.",
    0x800B0109: "A certificate chain processed, but terminated in a root certificate which is not trusted by the trust provider.",
    0x800B010A: "A certificate chain could not be built to a trusted root authority.",
    0x800B010B: "Generic trust failure.",
    0x800B010C: "A certificate was explicitly revoked by its issuer.",
    0x800B010D: "The certification path terminates with the test root which is not trusted with the current policy settings.",
    0x800B010E: "The revocation process could not continue - the certificate(s) could not be checked.",
    0x800B0111: "The certificate was explicitly marked as untrusted by the user.",
    0x80096005: "The timestamp signature and/or certificate could not be verified or is malformed.",
    0x80096010: "The digital signature of the object did not verify.",
    0x80092003: "An error occurred while reading or writing to a file.",
    0x80092004: "Cannot find object or property.",
    0x80092013: "The revocation function was unable to check revocation because the revocation server was offline.",
    0x80092026: "The cryptographic operation failed due to a local security option setting.",
    0x80073712: "The component store has been corrupted.",
    0x00003712: "The component store has been corrupted.",
}

# Windows Update Agent codes (wuerror.h names) with the description Microsoft gives each; Wine has no text for them.
UPDATE_CODES = {
    # "Windows Update error codes by component",
    # https://learn.microsoft.com/en-us/windows/deployment/update/windows-update-error-reference; all its codes but
    # 0x80244000 WU_E_PT_SOAPCLIENT_BASE (the base of a range, as the headers' *_BASE are) and 0x80245FFF
    # WU_E_REDIRECTOR_UNEXPECTED (mingw-w64's wuerror.h gives that name to 0x802450FF)
    0x8024A000: ("WU_E_AU_NOSERVICE", "Automatic Updates was unable to service incoming requests."),
    0x8024A002: (
        "WU_E_AU_NONLEGACYSERVER",
        "The old version of the Automatic Updates client has stopped because the WSUS server has been upgraded.",
    ),
    0x8024A003: ("WU_E_AU_LEGACYCLIENTDISABLED", "The old version of the Automatic Updates client was disabled."),
    0x8024A004: ("WU_E_AU_PAUSED", "Automatic Updates was unable to process incoming requests because it was paused."),
    0x8024A005: ("WU_E_AU_NO_REGISTERED_SERVICE", "No unmanaged service is registered with AU."),
    0x8024AFFF: ("WU_E_AU_UNEXPECTED", "An Automatic Updates error not covered by another WU_E_AU* code."),
    0x80243001: (
        "WU_E_INSTALLATION_RESULTS_UNKNOWN_VERSION",
        "The results of download and installation could not be read from the registry due to an unrecognized data format "
        "version.",
    ),
    0x80243002: (
        "WU_E_INSTALLATION_RESULTS_INVALID_DATA",
        "The results of download and installation could not be read from the registry due to an invalid data format.",
    ),
    0x80243003: (
        "WU_E_INSTALLATION_RESULTS_NOT_FOUND",
        "The results of download and installation are not available; the operation may have failed to start.",
    ),
    0x80243004: ("WU_E_TRAYICON_FAILURE", "A failure occurred when trying to create an icon in the taskbar notification area."),
    0x80243FFD: ("WU_E_NON_UI_MODE", "Unable to show UI when in non-UI mode; WU client UI modules may not be installed."),
    0x80243FFE: ("WU_E_WUCLTUI_UNSUPPORTED_VERSION", "Unsupported version of WU client UI exported functions."),
    0x80243FFF: (
        "WU_E_AUCLIENT_UNEXPECTED",
        "There was a user interface error not covered by another WU_E_AUCLIENT_* error code.",
    ),
    0x8024043D: ("WU_E_SERVICEPROP_NOTAVAIL", "The requested service property is not available."),
    0x80249001: ("WU_E_INVENTORY_PARSEFAILED", "Parsing of the rule file failed."),
    0x80249002: ("WU_E_INVENTORY_GET_INVENTORY_TYPE_FAILED", "Failed to get the requested inventory type from the server."),
    0x80249003: ("WU_E_INVENTORY_RESULT_UPLOAD_FAILED", "Failed to upload inventory result to the server."),
    0x80249004: ("WU_E_INVENTORY_UNEXPECTED", "There was an inventory error not covered by another error code."),
    0x80249005: ("WU_E_INVENTORY_WMI_ERROR", "A WMI error occurred when enumerating the instances for a particular class."),
    0x8024E001: (
        "WU_E_EE_UNKNOWN_EXPRESSION",
        "An expression evaluator operation could not be completed because an expression was unrecognized.",
    ),
    0x8024E002: (
        "WU_E_EE_INVALID_EXPRESSION",
        "An expression evaluator operation could not be completed because an expression was invalid.",
    ),
    0x8024E003: (
        "WU_E_EE_MISSING_METADATA",
        "An expression evaluator operation could not be completed because an expression contains an incorrect number of "
        "metadata nodes.",
    ),
    0x8024E004: (
        "WU_E_EE_INVALID_VERSION",
        "An expression evaluator operation could not be completed because the version of the serialized expression data is "
        "invalid.",
    ),
    0x8024E005: ("WU_E_EE_NOT_INITIALIZED", "The expression evaluator could not be initialized."),
    0x8024E006: (
        "WU_E_EE_INVALID_ATTRIBUTEDATA",
        "An expression evaluator operation could not be completed because there was an invalid attribute.",
    ),
    0x8024E007: (
        "WU_E_EE_CLUSTER_ERROR",
        "An expression evaluator operation could not be completed because the cluster state of the computer could not be "
        "determined.",
    ),
    0x8024EFFF: ("WU_E_EE_UNEXPECTED", "There was an expression evaluator error not covered by another WU_E_EE_* error code."),
    0x80247001: ("WU_E_OL_INVALID_SCANFILE", "An operation could not be completed because the scan package was invalid."),
    0x80247002: (
        "WU_E_OL_NEWCLIENT_REQUIRED",
        "An operation could not be completed because the scan package requires a greater version of the Windows Update Agent.",
    ),
    0x80247FFF: ("WU_E_OL_UNEXPECTED", "Search using the scan package failed."),
    0x8024F001: ("WU_E_REPORTER_EVENTCACHECORRUPT", "The event cache file was defective."),
    0x8024F002: ("WU_E_REPORTER_EVENTNAMESPACEPARSEFAILED", "The XML in the event namespace descriptor could not be parsed."),
    0x8024F003: ("WU_E_INVALID_EVENT", "The XML in the event namespace descriptor could not be parsed."),
    0x8024F004: ("WU_E_SERVER_BUSY", "The server rejected an event because the server was too busy."),
    0x8024FFFF: ("WU_E_REPORTER_UNEXPECTED", "There was a reporter error not covered by another error code."),
    0x80245001: ("WU_E_REDIRECTOR_LOAD_XML", "The redirector XML document could not be loaded into the DOM class."),
    0x80245002: ("WU_E_REDIRECTOR_S_FALSE", "The redirector XML document is missing some required information."),
    0x80245003: (
        "WU_E_REDIRECTOR_ID_SMALLER",
        "The redirectorId in the downloaded redirector cab is less than in the cached cab.",
    ),
    0x80244001: (
        "WU_E_PT_SOAPCLIENT_INITIALIZE",
        "Same as SOAPCLIENT_INITIALIZE_ERROR - initialization of the SOAP client failed possibly because of an MSXML "
        "installation failure.",
    ),
    0x80244002: (
        "WU_E_PT_SOAPCLIENT_OUTOFMEMORY",
        "Same as SOAPCLIENT_OUTOFMEMORY - SOAP client failed because it ran out of memory.",
    ),
    0x80244003: (
        "WU_E_PT_SOAPCLIENT_GENERATE",
        "Same as SOAPCLIENT_GENERATE_ERROR - SOAP client failed to generate the request.",
    ),
    0x80244004: ("WU_E_PT_SOAPCLIENT_CONNECT", "Same as SOAPCLIENT_CONNECT_ERROR - SOAP client failed to connect to the server."),
    0x80244005: (
        "WU_E_PT_SOAPCLIENT_SEND",
        "Same as SOAPCLIENT_SEND_ERROR - SOAP client failed to send a message for reasons of WU_E_WINHTTP_* error codes.",
    ),
    0x80244006: (
        "WU_E_PT_SOAPCLIENT_SERVER",
        "Same as SOAPCLIENT_SERVER_ERROR - SOAP client failed because there was a server error.",
    ),
    0x80244007: (
        "WU_E_PT_SOAPCLIENT_SOAPFAULT",
        "Same as SOAPCLIENT_SOAPFAULT - SOAP client failed because there was a SOAP fault for reasons of WU_E_PT_SOAP_* error "
        "codes.",
    ),
    0x80244008: (
        "WU_E_PT_SOAPCLIENT_PARSEFAULT",
        "Same as SOAPCLIENT_PARSEFAULT_ERROR - SOAP client failed to parse a SOAP fault.",
    ),
    0x80244009: (
        "WU_E_PT_SOAPCLIENT_READ",
        "Same as SOAPCLIENT_READ_ERROR - SOAP client failed while reading the response from the server.",
    ),
    0x8024400A: (
        "WU_E_PT_SOAPCLIENT_PARSE",
        "Same as SOAPCLIENT_PARSE_ERROR - SOAP client failed to parse the response from the server.",
    ),
    0x8024400B: (
        "WU_E_PT_SOAP_VERSION",
        "Same as SOAP_E_VERSION_MISMATCH - SOAP client found an unrecognizable namespace for the SOAP envelope.",
    ),
    0x8024400C: (
        "WU_E_PT_SOAP_MUST_UNDERSTAND",
        "Same as SOAP_E_MUST_UNDERSTAND - SOAP client was unable to understand a header.",
    ),
    0x8024400D: (
        "WU_E_PT_SOAP_CLIENT",
        "Same as SOAP_E_CLIENT - SOAP client found the message was malformed; fix before resending.",
    ),
    0x8024400E: (
        "WU_E_PT_SOAP_SERVER",
        "Same as SOAP_E_SERVER - The SOAP message could not be processed due to a server error; resend later.",
    ),
    0x8024400F: ("WU_E_PT_WMI_ERROR", "There was an unspecified Windows Management Instrumentation (WMI) error."),
    0x80244010: ("WU_E_PT_EXCEEDED_MAX_SERVER_TRIPS", "The number of round trips to the server exceeded the maximum limit."),
    0x80244011: ("WU_E_PT_SUS_SERVER_NOT_SET", "WUServer policy value is missing in the registry."),
    0x80244012: ("WU_E_PT_DOUBLE_INITIALIZATION", "Initialization failed because the object was already initialized."),
    0x80244013: ("WU_E_PT_INVALID_COMPUTER_NAME", "The computer name could not be determined."),
    0x80244015: (
        "WU_E_PT_REFRESH_CACHE_REQUIRED",
        "The reply from the server indicates that the server was changed or the cookie was invalid; refresh the state of the "
        "internal cache and retry.",
    ),
    0x80244016: (
        "WU_E_PT_HTTP_STATUS_BAD_REQUEST",
        "Same as HTTP status 400 - the server could not process the request due to invalid syntax.",
    ),
    0x80244017: ("WU_E_PT_HTTP_STATUS_DENIED", "Same as HTTP status 401 - the requested resource requires user authentication."),
    0x80244018: (
        "WU_E_PT_HTTP_STATUS_FORBIDDEN",
        "Same as HTTP status 403 - server understood the request but declined to fulfill it.",
    ),
    0x80244019: (
        "WU_E_PT_HTTP_STATUS_NOT_FOUND",
        "Same as HTTP status 404 - the server cannot find the requested URI (Uniform Resource Identifier).",
    ),
    0x8024401A: ("WU_E_PT_HTTP_STATUS_BAD_METHOD", "Same as HTTP status 405 - the HTTP method is not allowed."),
    0x8024401B: ("WU_E_PT_HTTP_STATUS_PROXY_AUTH_REQ", "Same as HTTP status 407 - proxy authentication is required."),
    0x8024401C: (
        "WU_E_PT_HTTP_STATUS_REQUEST_TIMEOUT",
        "Same as HTTP status 408 - the server timed out waiting for the request.",
    ),
    0x8024401D: (
        "WU_E_PT_HTTP_STATUS_CONFLICT",
        "Same as HTTP status 409 - the request was not completed due to a conflict with the current state of the resource.",
    ),
    0x8024401E: (
        "WU_E_PT_HTTP_STATUS_GONE",
        "Same as HTTP status 410 - requested resource is no longer available at the server.",
    ),
    0x8024401F: (
        "WU_E_PT_HTTP_STATUS_SERVER_ERROR",
        "Same as HTTP status 500 - an error internal to the server prevented fulfilling the request.",
    ),
    0x80244021: (
        "WU_E_PT_HTTP_STATUS_BAD_GATEWAY",
        "Same as HTTP status 502 - the server while acting as a gateway or a proxy received an invalid response from the "
        "upstream server it accessed in attempting to fulfill the request.",
    ),
    0x80244022: ("WU_E_PT_HTTP_STATUS_SERVICE_UNAVAIL", "Same as HTTP status 503 - the service is temporarily overloaded."),
    0x80244024: (
        "WU_E_PT_HTTP_STATUS_VERSION_NOT_SUP",
        "Same as HTTP status 505 - the server does not support the HTTP protocol version used for the request.",
    ),
    0x80244025: (
        "WU_E_PT_FILE_LOCATIONS_CHANGED",
        "Operation failed due to a changed file location; refresh internal state and resend.",
    ),
    0x80244026: (
        "WU_E_PT_REGISTRATION_NOT_SUPPORTED",
        "Operation failed because Windows Update Agent does not support registration with a non-WSUS server.",
    ),
    0x80244027: ("WU_E_PT_NO_AUTH_PLUGINS_REQUESTED", "The server returned an empty authentication information list."),
    0x80244028: (
        "WU_E_PT_NO_AUTH_COOKIES_CREATED",
        "Windows Update Agent was unable to create any valid authentication cookies.",
    ),
    0x80244029: ("WU_E_PT_INVALID_CONFIG_PROP", "A configuration property value was wrong."),
    0x8024402A: ("WU_E_PT_CONFIG_PROP_MISSING", "A configuration property value was missing."),
    0x8024402B: (
        "WU_E_PT_HTTP_STATUS_NOT_MAPPED",
        "The HTTP request could not be completed and the reason did not correspond to any of the WU_E_PT_HTTP_* error codes.",
    ),
    0x8024402C: (
        "WU_E_PT_WINHTTP_NAME_NOT_RESOLVED",
        "Same as ERROR_WINHTTP_NAME_NOT_RESOLVED - the proxy server or target server name cannot be resolved.",
    ),
    0x8024402F: ("WU_E_PT_ECP_SUCCEEDED_WITH_ERRORS", "External cab file processing completed with some errors."),
    0x80244030: ("WU_E_PT_ECP_INIT_FAILED", "The external cab processor initialization did not complete."),
    0x80244031: ("WU_E_PT_ECP_INVALID_FILE_FORMAT", "The format of a metadata file was invalid."),
    0x80244032: ("WU_E_PT_ECP_INVALID_METADATA", "External cab processor found invalid metadata."),
    0x80244033: ("WU_E_PT_ECP_FAILURE_TO_EXTRACT_DIGEST", "The file digest could not be extracted from an external cab file."),
    0x80244034: ("WU_E_PT_ECP_FAILURE_TO_DECOMPRESS_CAB_FILE", "An external cab file could not be decompressed."),
    0x80244035: ("WU_E_PT_ECP_FILE_LOCATION_ERROR", "External cab processor was unable to get file locations."),
    0x80244FFF: ("WU_E_PT_UNEXPECTED", "A communication error not covered by another WU_E_PT_* error code."),
    0x8024502D: (
        "WU_E_PT_SAME_REDIR_ID",
        "Windows Update Agent failed to download a redirector cabinet file with a new redirectorId value from the server during "
        "the recovery.",
    ),
    0x8024502E: ("WU_E_PT_NO_MANAGED_RECOVER", "A redirector recovery action did not complete because the server is managed."),
    0x80246001: (
        "WU_E_DM_URLNOTAVAILABLE",
        "A download manager operation could not be completed because the requested file does not have a URL.",
    ),
    0x80246002: (
        "WU_E_DM_INCORRECTFILEHASH",
        "A download manager operation could not be completed because the file digest was not recognized.",
    ),
    0x80246003: (
        "WU_E_DM_UNKNOWNALGORITHM",
        "A download manager operation could not be completed because the file metadata requested an unrecognized hash algorithm.",
    ),
    0x80246004: (
        "WU_E_DM_NEEDDOWNLOADREQUEST",
        "An operation could not be completed because a download request is required from the download handler.",
    ),
    0x80246005: (
        "WU_E_DM_NONETWORK",
        "A download manager operation could not be completed because the network connection was unavailable.",
    ),
    0x80246006: (
        "WU_E_DM_WRONGBITSVERSION",
        "A download manager operation could not be completed because the version of Background Intelligent Transfer Service "
        "(BITS) is incompatible.",
    ),
    0x80246007: ("WU_E_DM_NOTDOWNLOADED", "The update has not been downloaded."),
    0x80246008: (
        "WU_E_DM_FAILTOCONNECTTOBITS",
        "A download manager operation failed because the download manager was unable to connect the Background Intelligent "
        "Transfer Service (BITS).",
    ),
    0x80246009: (
        "WU_E_DM_BITSTRANSFERERROR",
        "A download manager operation failed because there was an unspecified Background Intelligent Transfer Service (BITS) "
        "transfer error.",
    ),
    0x8024600A: (
        "WU_E_DM_DOWNLOADLOCATIONCHANGED",
        "A download must be restarted because the location of the source of the download has changed.",
    ),
    0x8024600B: ("WU_E_DM_CONTENTCHANGED", "A download must be restarted because the update content changed in a new revision."),
    0x80246FFF: ("WU_E_DM_UNEXPECTED", "There was a download manager error not covered by another WU_E_DM_* error code."),
    0x80242000: (
        "WU_E_UH_REMOTEUNAVAILABLE",
        "A request for a remote update handler could not be completed because no remote process is available.",
    ),
    0x80242001: (
        "WU_E_UH_LOCALONLY",
        "A request for a remote update handler could not be completed because the handler is local only.",
    ),
    0x80242002: (
        "WU_E_UH_UNKNOWNHANDLER",
        "A request for an update handler could not be completed because the handler could not be recognized.",
    ),
    0x80242003: ("WU_E_UH_REMOTEALREADYACTIVE", "A remote update handler could not be created because one already exists."),
    0x80242004: (
        "WU_E_UH_DOESNOTSUPPORTACTION",
        "A request for the handler to install (uninstall) an update could not be completed because the update does not support "
        "install (uninstall).",
    ),
    0x80242005: ("WU_E_UH_WRONGHANDLER", "An operation did not complete because the wrong handler was specified."),
    0x80242006: (
        "WU_E_UH_INVALIDMETADATA",
        "A handler operation could not be completed because the update contains invalid metadata.",
    ),
    0x80242007: ("WU_E_UH_INSTALLERHUNG", "An operation could not be completed because the installer exceeded the time limit."),
    0x80242008: ("WU_E_UH_OPERATIONCANCELLED", "An operation being done by the update handler was canceled."),
    0x80242009: (
        "WU_E_UH_BADHANDLERXML",
        "An operation could not be completed because the handler-specific metadata is invalid.",
    ),
    0x8024200A: (
        "WU_E_UH_CANREQUIREINPUT",
        "A request to the handler to install an update could not be completed because the update requires user input.",
    ),
    0x8024200B: ("WU_E_UH_INSTALLERFAILURE", "The installer failed to install (uninstall) one or more updates."),
    0x8024200C: (
        "WU_E_UH_FALLBACKTOSELFCONTAINED",
        "The update handler should download self-contained content rather than delta-compressed content for the update.",
    ),
    0x8024200D: (
        "WU_E_UH_NEEDANOTHERDOWNLOAD",
        "The update handler did not install the update because it needs to be downloaded again.",
    ),
    0x8024200E: (
        "WU_E_UH_NOTIFYFAILURE",
        "The update handler failed to send notification of the status of the install (uninstall) operation.",
    ),
    0x8024200F: (
        "WU_E_UH_INCONSISTENT_FILE_NAMES",
        "The file names contained in the update metadata and in the update package are inconsistent.",
    ),
    0x80242010: ("WU_E_UH_FALLBACKERROR", "The update handler failed to fall back to the self-contained content."),
    0x80242011: ("WU_E_UH_TOOMANYDOWNLOADREQUESTS", "The update handler has exceeded the maximum number of download requests."),
    0x80242012: ("WU_E_UH_UNEXPECTEDCBSRESPONSE", "The update handler has received an unexpected response from CBS."),
    0x80242013: ("WU_E_UH_BADCBSPACKAGEID", "The update metadata contains an invalid CBS package identifier."),
    0x80242014: ("WU_E_UH_POSTREBOOTSTILLPENDING", "The post-reboot operation for the update is still in progress."),
    0x80242015: (
        "WU_E_UH_POSTREBOOTRESULTUNKNOWN",
        "The result of the post-reboot operation for the update could not be determined.",
    ),
    0x80242016: (
        "WU_E_UH_POSTREBOOTUNEXPECTEDSTATE",
        "The state of the update after its post-reboot operation has completed is unexpected.",
    ),
    0x80242017: (
        "WU_E_UH_NEW_SERVICING_STACK_REQUIRED",
        "The OS servicing stack must be updated before this update is downloaded or installed.",
    ),
    0x80242FFF: ("WU_E_UH_UNEXPECTED", "An update handler error not covered by another WU_E_UH_* code."),
    0x80248000: ("WU_E_DS_SHUTDOWN", "An operation failed because Windows Update Agent is shutting down."),
    0x80248001: ("WU_E_DS_INUSE", "An operation failed because the data store was in use."),
    0x80248002: ("WU_E_DS_INVALID", "The current and expected states of the data store do not match."),
    0x80248003: ("WU_E_DS_TABLEMISSING", "The data store is missing a table."),
    0x80248004: ("WU_E_DS_TABLEINCORRECT", "The data store contains a table with unexpected columns."),
    0x80248005: ("WU_E_DS_INVALIDTABLENAME", "A table could not be opened because the table is not in the data store."),
    0x80248006: ("WU_E_DS_BADVERSION", "The current and expected versions of the data store do not match."),
    0x80248007: ("WU_E_DS_NODATA", "The information requested is not in the data store."),
    0x80248008: (
        "WU_E_DS_MISSINGDATA",
        "The data store is missing required information or has a NULL in a table column that requires a non-null value.",
    ),
    0x80248009: (
        "WU_E_DS_MISSINGREF",
        "The data store is missing required information or has a reference to missing license terms file localized property or "
        "linked row.",
    ),
    0x8024800A: ("WU_E_DS_UNKNOWNHANDLER", "The update was not processed because its update handler could not be recognized."),
    0x8024800B: ("WU_E_DS_CANTDELETE", "The update was not deleted because it is still referenced by one or more services."),
    0x8024800C: ("WU_E_DS_LOCKTIMEOUTEXPIRED", "The data store section could not be locked within the allotted time."),
    0x8024800D: (
        "WU_E_DS_NOCATEGORIES",
        "The category was not added because it contains no parent categories and is not a top-level category itself.",
    ),
    0x8024800E: ("WU_E_DS_ROWEXISTS", "The row was not added because an existing row has the same primary key."),
    0x8024800F: ("WU_E_DS_STOREFILELOCKED", "The data store could not be initialized because it was locked by another process."),
    0x80248010: ("WU_E_DS_CANNOTREGISTER", "The data store is not allowed to be registered with COM in the current process."),
    0x80248011: ("WU_E_DS_UNABLETOSTART", "Could not create a data store object in another process."),
    0x80248013: ("WU_E_DS_DUPLICATEUPDATEID", "The server sent the same update to the client with two different revision IDs."),
    0x80248014: ("WU_E_DS_UNKNOWNSERVICE", "An operation did not complete because the service is not in the data store."),
    0x80248015: ("WU_E_DS_SERVICEEXPIRED", "An operation did not complete because the registration of the service has expired."),
    0x80248016: (
        "WU_E_DS_DECLINENOTALLOWED",
        "A request to hide an update was declined because it is a mandatory update or because it was deployed with a deadline.",
    ),
    0x80248017: ("WU_E_DS_TABLESESSIONMISMATCH", "A table was not closed because it is not associated with the session."),
    0x80248018: ("WU_E_DS_SESSIONLOCKMISMATCH", "A table was not closed because it is not associated with the session."),
    0x80248019: (
        "WU_E_DS_NEEDWINDOWSSERVICE",
        "A request to remove the Windows Update service or to unregister it with Automatic Updates was declined because it is a "
        "built-in service and/or Automatic Updates cannot fall back to another service.",
    ),
    0x8024801A: ("WU_E_DS_INVALIDOPERATION", "A request was declined because the operation is not allowed."),
    0x8024801B: (
        "WU_E_DS_SCHEMAMISMATCH",
        "The schema of the current data store and the schema of a table in a backup XML document do not match.",
    ),
    0x8024801C: (
        "WU_E_DS_RESETREQUIRED",
        "The data store requires a session reset; release the session and retry with a new session.",
    ),
    0x8024801D: (
        "WU_E_DS_IMPERSONATED",
        "A data store operation did not complete because it was requested with an impersonated identity.",
    ),
    0x80248FFF: ("WU_E_DS_UNEXPECTED", "A data store error not covered by another WU_E_DS_* code."),
    0x8024C001: ("WU_E_DRV_PRUNED", "A driver was skipped."),
    0x8024C002: (
        "WU_E_DRV_NOPROP_OR_LEGACY",
        "A property for the driver could not be found. It may not conform with required specifications.",
    ),
    0x8024C003: ("WU_E_DRV_REG_MISMATCH", "The registry type read for the driver does not match the expected type."),
    0x8024C004: ("WU_E_DRV_NO_METADATA", "The driver update is missing metadata."),
    0x8024C005: ("WU_E_DRV_MISSING_ATTRIBUTE", "The driver update is missing a required attribute."),
    0x8024C006: ("WU_E_DRV_SYNC_FAILED", "Driver synchronization failed."),
    0x8024C007: (
        "WU_E_DRV_NO_PRINTER_CONTENT",
        "Information required for the synchronization of applicable printers is missing.",
    ),
    0x8024CFFF: ("WU_E_DRV_UNEXPECTED", "A driver error not covered by another WU_E_DRV_* code."),
    0x80240001: ("WU_E_NO_SERVICE", "Windows Update Agent was unable to provide the service."),
    0x80240002: ("WU_E_MAX_CAPACITY_REACHED", "The maximum capacity of the service was exceeded."),
    0x80240003: ("WU_E_UNKNOWN_ID", "An ID cannot be found."),
    0x80240004: ("WU_E_NOT_INITIALIZED", "The object could not be initialized."),
    0x80240005: ("WU_E_RANGEOVERLAP", "The update handler requested a byte range overlapping a previously requested range."),
    0x80240006: ("WU_E_TOOMANYRANGES", "The requested number of byte ranges exceeds the maximum number (2^31 - 1)."),
    0x80240007: ("WU_E_INVALIDINDEX", "The index to a collection was invalid."),
    0x80240008: ("WU_E_ITEMNOTFOUND", "The key for the item queried could not be found."),
    0x80240009: (
        "WU_E_OPERATIONINPROGRESS",
        "Another conflicting operation was in progress. Some operations such as installation cannot be performed twice "
        "simultaneously.",
    ),
    0x8024000A: ("WU_E_COULDNOTCANCEL", "Cancellation of the operation was not allowed."),
    0x8024000B: ("WU_E_CALL_CANCELLED", "Operation was canceled."),
    0x8024000C: ("WU_E_NOOP", "No operation was required."),
    0x8024000D: ("WU_E_XML_MISSINGDATA", "Windows Update Agent could not find required information in the update's XML data."),
    0x8024000E: ("WU_E_XML_INVALID", "Windows Update Agent found invalid information in the update's XML data."),
    0x8024000F: ("WU_E_CYCLE_DETECTED", "Circular update relationships were detected in the metadata."),
    0x80240010: ("WU_E_TOO_DEEP_RELATION", "Update relationships too deep to evaluate were evaluated."),
    0x80240011: ("WU_E_INVALID_RELATIONSHIP", "An invalid update relationship was detected."),
    0x80240012: ("WU_E_REG_VALUE_INVALID", "An invalid registry value was read."),
    0x80240013: ("WU_E_DUPLICATE_ITEM", "Operation tried to add a duplicate item to a list."),
    0x80240016: (
        "WU_E_INSTALL_NOT_ALLOWED",
        "Operation tried to install while another installation was in progress or the system was pending a mandatory restart.",
    ),
    0x80240017: ("WU_E_NOT_APPLICABLE", "Operation was not performed because there are no applicable updates."),
    0x80240018: ("WU_E_NO_USERTOKEN", "Operation failed because a required user token is missing."),
    0x80240019: (
        "WU_E_EXCLUSIVE_INSTALL_CONFLICT",
        "An exclusive update cannot be installed with other updates at the same time.",
    ),
    0x8024001A: ("WU_E_POLICY_NOT_SET", "A policy value was not set."),
    0x8024001B: (
        "WU_E_SELFUPDATE_IN_PROGRESS",
        "The operation could not be performed because the Windows Update Agent is self-updating.",
    ),
    0x8024001D: ("WU_E_INVALID_UPDATE", "An update contains invalid metadata."),
    0x8024001E: ("WU_E_SERVICE_STOP", "Operation did not complete because the service or system was being shut down."),
    0x8024001F: ("WU_E_NO_CONNECTION", "Operation did not complete because the network connection was unavailable."),
    0x80240020: ("WU_E_NO_INTERACTIVE_USER", "Operation did not complete because there is no logged-on interactive user."),
    0x80240021: ("WU_E_TIME_OUT", "Operation did not complete because it timed out."),
    0x80240022: ("WU_E_ALL_UPDATES_FAILED", "Operation failed for all the updates."),
    0x80240023: ("WU_E_EULAS_DECLINED", "The license terms for all updates were declined."),
    0x80240024: ("WU_E_NO_UPDATE", "There are no updates."),
    0x80240025: ("WU_E_USER_ACCESS_DISABLED", "Group Policy settings prevented access to Windows Update."),
    0x80240026: ("WU_E_INVALID_UPDATE_TYPE", "The type of update is invalid."),
    0x80240027: ("WU_E_URL_TOO_LONG", "The URL exceeded the maximum length."),
    0x80240028: (
        "WU_E_UNINSTALL_NOT_ALLOWED",
        "The update could not be uninstalled because the request did not originate from a WSUS server.",
    ),
    0x80240029: (
        "WU_E_INVALID_PRODUCT_LICENSE",
        "Search may have missed some updates before there is an unlicensed application on the system.",
    ),
    0x8024002A: ("WU_E_MISSING_HANDLER", "A component required to detect applicable updates was missing."),
    0x8024002B: ("WU_E_LEGACYSERVER", "An operation did not complete because it requires a newer version of server."),
    0x8024002C: ("WU_E_BIN_SOURCE_ABSENT", "A delta-compressed update could not be installed because it required the source."),
    0x8024002D: ("WU_E_SOURCE_ABSENT", "A full-file update could not be installed because it required the source."),
    0x8024002E: ("WU_E_WU_DISABLED", "Access to an unmanaged server is not allowed."),
    0x8024002F: (
        "WU_E_CALL_CANCELLED_BY_POLICY",
        "Operation did not complete because the DisableWindowsUpdateAccess policy was set.",
    ),
    0x80240030: ("WU_E_INVALID_PROXY_SERVER", "The format of the proxy list was invalid."),
    0x80240031: ("WU_E_INVALID_FILE", "The file is in the wrong format."),
    0x80240032: ("WU_E_INVALID_CRITERIA", "The search criteria string was invalid."),
    0x80240033: ("WU_E_EULA_UNAVAILABLE", "License terms could not be downloaded."),
    0x80240034: ("WU_E_DOWNLOAD_FAILED", "Update failed to download."),
    0x80240035: ("WU_E_UPDATE_NOT_PROCESSED", "The update was not processed."),
    0x80240036: ("WU_E_INVALID_OPERATION", "The object's current state did not allow the operation."),
    0x80240037: ("WU_E_NOT_SUPPORTED", "The functionality for the operation is not supported."),
    0x80240038: ("WU_E_WINHTTP_INVALID_FILE", "The downloaded file has an unexpected content type."),
    0x80240039: ("WU_E_TOO_MANY_RESYNC", "Agent is asked by server to resync too many times."),
    0x80240040: ("WU_E_NO_SERVER_CORE_SUPPORT", "WUA API method does not run on Server Core installation."),
    0x80240041: ("WU_E_SYSPREP_IN_PROGRESS", "Service is not available while sysprep is running."),
    0x80240042: ("WU_E_UNKNOWN_SERVICE", "The update service is no longer registered with AU."),
    0x80240043: ("WU_E_NO_UI_SUPPORT", "There is no support for WUA UI."),
    0x80240FFF: ("WU_E_UNEXPECTED", "An operation failed due to reasons not covered by another error code."),
    0x00240001: ("WU_S_SERVICE_STOP", "Windows Update Agent was stopped successfully."),
    0x00240002: ("WU_S_SELFUPDATE", "Windows Update Agent updated itself."),
    0x00240003: ("WU_S_UPDATE_ERROR", "Operation completed successfully but there were errors applying the updates."),
    0x00240004: (
        "WU_S_MARKED_FOR_DISCONNECT",
        "A callback was marked to be disconnected later because the request to disconnect the operation came while a callback "
        "was executing.",
    ),
    0x00240005: ("WU_S_REBOOT_REQUIRED", "The system must be restarted to complete installation of the update."),
    0x00240006: ("WU_S_ALREADY_INSTALLED", "The update to be installed is already installed on the system."),
    0x00240007: ("WU_S_ALREADY_UNINSTALLED", "The update to be removed is not installed on the system."),
    0x00240008: ("WU_S_ALREADY_DOWNLOADED", "The update to be downloaded has already been downloaded."),
    0x80241001: (
        "WU_E_MSI_WRONG_VERSION",
        "Search may have missed some updates because the Windows Installer is less than version 3.1.",
    ),
    0x80241002: (
        "WU_E_MSI_NOT_CONFIGURED",
        "Search may have missed some updates because the Windows Installer is not configured.",
    ),
    0x80241003: (
        "WU_E_MSP_DISABLED",
        "Search may have missed some updates because policy has disabled Windows Installer patching.",
    ),
    0x80241004: ("WU_E_MSI_WRONG_APP_CONTEXT", "An update could not be applied because the application is installed per-user."),
    0x80241FFF: (
        "WU_E_MSP_UNEXPECTED",
        "Search may have missed some updates because there was a failure of the Windows Installer.",
    ),
    0x8024D001: (
        "WU_E_SETUP_INVALID_INFDATA",
        "Windows Update Agent could not be updated because an INF file contains invalid information.",
    ),
    0x8024D002: (
        "WU_E_SETUP_INVALID_IDENTDATA",
        "Windows Update Agent could not be updated because the wuident.cab file contains invalid information.",
    ),
    0x8024D003: (
        "WU_E_SETUP_ALREADY_INITIALIZED",
        "Windows Update Agent could not be updated because of an internal error that caused setup initialization to be "
        "performed twice.",
    ),
    0x8024D004: (
        "WU_E_SETUP_NOT_INITIALIZED",
        "Windows Update Agent could not be updated because setup initialization never completed successfully.",
    ),
    0x8024D005: (
        "WU_E_SETUP_SOURCE_VERSION_MISMATCH",
        "Windows Update Agent could not be updated because the versions specified in the INF do not match the actual source "
        "file versions.",
    ),
    0x8024D006: (
        "WU_E_SETUP_TARGET_VERSION_GREATER",
        "Windows Update Agent could not be updated because a WUA file on the target system is newer than the corresponding "
        "source file.",
    ),
    0x8024D007: (
        "WU_E_SETUP_REGISTRATION_FAILED",
        "Windows Update Agent could not be updated because regsvr32.exe returned an error.",
    ),
    0x8024D009: (
        "WU_E_SETUP_SKIP_UPDATE",
        "An update to the Windows Update Agent was skipped due to a directive in the wuident.cab file.",
    ),
    0x8024D00A: (
        "WU_E_SETUP_UNSUPPORTED_CONFIGURATION",
        "Windows Update Agent could not be updated because the current system configuration is not supported.",
    ),
    0x8024D00B: (
        "WU_E_SETUP_BLOCKED_CONFIGURATION",
        "Windows Update Agent could not be updated because the system is configured to block the update.",
    ),
    0x8024D00C: (
        "WU_E_SETUP_REBOOT_TO_FIX",
        "Windows Update Agent could not be updated because a restart of the system is required.",
    ),
    0x8024D00D: ("WU_E_SETUP_ALREADYRUNNING", "Windows Update Agent setup is already running."),
    0x8024D00E: ("WU_E_SETUP_REBOOTREQUIRED", "Windows Update Agent setup package requires a reboot to complete installation."),
    0x8024D00F: (
        "WU_E_SETUP_HANDLER_EXEC_FAILURE",
        "Windows Update Agent could not be updated because the setup handler failed during execution.",
    ),
    0x8024D010: (
        "WU_E_SETUP_INVALID_REGISTRY_DATA",
        "Windows Update Agent could not be updated because the registry contains invalid information.",
    ),
    0x8024D013: (
        "WU_E_SETUP_WRONG_SERVER_VERSION",
        "Windows Update Agent could not be updated because the server does not contain update information for this version.",
    ),
    0x8024DFFF: (
        "WU_E_SETUP_UNEXPECTED",
        "Windows Update Agent could not be updated because of an error not covered by another WU_E_SETUP_* error code.",
    ),
    # That page gives HTTP status 500 and 503 for these two; "WUA Networking Error Codes" gives the right ones:
    # https://learn.microsoft.com/en-us/windows/win32/wua_sdk/wua-networking-error-codes-
    0x80244020: (
        "WU_E_PT_HTTP_STATUS_NOT_SUPPORTED",
        "Same as HTTP status 501 – Server does not support the functionality required to fulfill the request.",
    ),
    0x80244023: (
        "WU_E_PT_HTTP_STATUS_GATEWAY_TIMEOUT",
        "Same as HTTP status 504 – The request was timed out waiting for a gateway.",
    ),
    # "Windows Update common errors and mitigation" (not on the page by component; USO_E_* is in no header),
    # https://learn.microsoft.com/en-us/windows/deployment/update/windows-update-errors
    0x80246017: (
        "WU_E_DM_UNAUTHORIZED_LOCAL_USER",
        "The download failed because the local user was denied authorization to download the content.",
    ),
    0x8024A10A: ("USO_E_SERVICE_SHUTTING_DOWN", "Indicates that the Windows Update Service is shutting down."),
}

# Windows Setup's result codes (modern setup, MOSETUP_E_*), in no public header: "Windows 10 upgrade resolution
# procedures", section "Modern setup errors", https://learn.microsoft.com/en-us/troubleshoot/windows-client/deployment/
# windows-10-upgrade-resolution-procedures (also https://learn.microsoft.com/en-us/windows/deployment/upgrade/
# upgrade-error-codes, which explains 0xC1900101 as Setup's generic rollback code)
UPGRADE_CODES = {
    0xC1900100: (
        "MOSETUP_E_VERSION_MISMATCH",
        "An unexpected version of Setup Platform binaries was encountered. Verify the package contents.",
    ),
    0xC1900101: ("MOSETUP_E_SETUP_PLATFORM", "The Setup Platform has encountered an unspecified error."),
    0xC1900102: ("MOSETUP_E_SHUTDOWN_BLOCK", "Unable to create or destroy the shutdown block message."),
    0xC1900103: ("MOSETUP_E_COMPAT_TIMEOUT", "The compatibility issues weren't resolved within the required time limit."),
    0xC1900104: ("MOSETUP_E_PROCESS_TIMEOUT", "The installation process did not complete within the required time limit."),
    0xC1900105: ("MOSETUP_E_TEST_MODE", "The installation process is being used in a test environment."),
    0xC1900106: ("MOSETUP_E_TERMINATE_PROCESS", "The installation process was terminated."),
    0xC1900107: (
        "MOSETUP_E_CLEANUP_PENDING",
        "A cleanup operation from a previous installation attempt is still pending. A system reboot is required.",
    ),
    0xC1900108: (
        "MOSETUP_E_REPORTING",
        "An error has occurred and the result value must be consolidated for telemetry purposes.",
    ),
    0xC1900109: (
        "MOSETUP_E_COMPAT_TERMINATE",
        "The installation process was terminated during the actionable compatibility phase.",
    ),
    0xC190010A: ("MOSETUP_E_UNKNOWN_CMD_LINE", "The installation process was launched with an unknown command-line argument."),
    0xC190010B: ("MOSETUP_E_INSTALL_IMAGE_NOT_FOUND", "The installation image was not found."),
    0xC190010C: ("MOSETUP_E_AUTOMATION_INVALID", "The provided automation information was invalid."),
    0xC190010D: ("MOSETUP_E_INVALID_CMD_LINE", "The installation process was launched with an invalid command-line argument."),
    0xC190010E: (
        "MOSETUP_E_EULA_ACCEPT_REQUIRED",
        "The installation process requires that the user accept the license agreement.",
    ),
    0xC1900110: ("MOSETUP_E_EULA_CANCEL", "The user has chosen to cancel for license agreement."),
    0xC1900111: ("MOSETUP_E_ADVERTISE_CANCEL", "The user has chosen to cancel for advertisement."),
    0xC1900112: ("MOSETUP_E_TARGET_DRIVE_NOT_FOUND", "Could not find a target drive letter."),
    0xC1900113: ("MOSETUP_E_EULA_DECLINED", "The user has declined the license terms."),
    0xC190011E: ("MOSETUP_E_FLIGHTING_BVT", "The installation process has been halted for testing purposes."),
    0xC190011F: ("MOSETUP_E_PROCESS_CRASHED", "The installation process crashed."),
    0xC1900120: ("MOSETUP_E_EULA_TIMEOUT", "The user has not accepted the EULA within the required time limit."),
    0xC1900121: ("MOSETUP_E_ADVERTISE_TIMEOUT", "The user has not accepted Advertisement within the required time limit."),
    0xC1900122: (
        "MOSETUP_E_DOWNLOADDISKSPACE_TIMEOUT",
        "The download disk space issues were not resolved within the required time limit.",
    ),
    0xC1900123: (
        "MOSETUP_E_INSTALLDISKSPACE_TIMEOUT",
        "The install disk space issues were not resolved within the required time limit.",
    ),
    0xC1900124: (
        "MOSETUP_E_COMPAT_SYSREQ_TIMEOUT",
        "The minimum requirements compatibility issues were not resolved within the required time limit.",
    ),
    0xC1900125: (
        "MOSETUP_E_COMPAT_DOWNLOADREQ_TIMEOUT",
        "The compatibility issues for download were not resolved within the required time limit.",
    ),
    0xC1900126: ("MOSETUP_E_GATHER_OS_STATE_SIGNATURE", "The GatherOsState executable has invalid signature."),
    0xC1900127: ("MOSETUP_E_UNINSTALL_ALLOWED_ABORT", "The user has chosen to abort Setup to keep Uninstall option active."),
    0xC1900128: ("MOSETUP_E_MISSING_TASK", "The install cannot continue because a required task is missing."),
    0xC1900129: (
        "MOSETUP_E_UPDATEMEDIA_REQUESTED",
        "A more up-to-date version of setup will be launched to continue installation",
    ),
    0xC190012F: (
        "MOSETUP_E_FINALIZE_ALREADY_REQUESTED",
        "The install cannot continue because a finalize operation was already requested.",
    ),
    0xC1900130: ("MOSETUP_E_INSTALL_HASH_MISSING", "The install cannot continue because the instance hash was not found."),
    0xC1900131: ("MOSETUP_E_INSTALL_HASH_MISMATCH", "The install cannot continue because the instance hash does not match."),
    0xC19001DF: ("MOSETUP_E_DISK_FULL", "The install cannot continue because the system is out of disk space."),
    0xC19001E0: ("MOSETUP_E_GATHER_OS_STATE_FAILED", "The GatherOsState executable has failed to execute."),
    0xC19001E1: ("MOSETUP_E_PROCESS_SUSPENDED", "The installation process was suspended."),
    0xC19001E2: ("MOSETUP_E_PREINSTALL_SCRIPT_FAILED", "A preinstall script failed to execute or returned an error."),
    0xC19001E3: ("MOSETUP_E_PRECOMMIT_SCRIPT_FAILED", "A precommit script failed to execute or returned an error."),
    0xC19001E4: ("MOSETUP_E_FAILURE_SCRIPT_FAILED", "A failure script failed to execute or returned an error."),
    0xC19001E5: ("MOSETUP_E_SCRIPT_TIMEOUT", "A script exceeded the timeout limit."),
    0xC1900200: ("MOSETUP_E_COMPAT_SYSREQ_BLOCK", "The system does not pass the minimum requirements to install the update."),
    0xC1900201: (
        "MOSETUP_E_COMPAT_SYSREQ_CANCEL",
        "The user has chosen to cancel because the system does not pass the minimum requirements to install the update.",
    ),
    0xC1900202: (
        "MOSETUP_E_COMPAT_DOWNLOADREQ_BLOCK",
        "The system does not pass the minimum requirements to download the update.",
    ),
    0xC1900203: (
        "MOSETUP_E_COMPAT_DOWNLOADREQ_CANCEL",
        "The user has chosen to cancel because the system does not pass the minimum requirements to download the update.",
    ),
    0xC1900204: ("MOSETUP_E_COMPAT_MIGCHOICE_BLOCK", "The system does not pass the requirements for desired migration choice."),
    0xC1900205: (
        "MOSETUP_E_COMPAT_MIGCHOICE_CANCEL",
        "The user has chosen to cancel because the system does not pass the requirements for desired migration choice.",
    ),
    0xC1900206: ("MOSETUP_E_COMPAT_DEVICEREQ_BLOCK", "The system does not pass the device scan to install the update."),
    0xC1900207: (
        "MOSETUP_E_COMPAT_DEVICEREQ_CANCEL",
        "The user has chosen to cancel because the system does not pass the device scan to install the update.",
    ),
    0xC1900208: ("MOSETUP_E_COMPAT_INSTALLREQ_BLOCK", "The system does not pass the compat scan to install the update."),
    0xC1900209: (
        "MOSETUP_E_COMPAT_INSTALLREQ_CANCEL",
        "The user has chosen to cancel because the system does not pass the compat scan to install the update.",
    ),
    0xC190020A: ("MOSETUP_E_COMPAT_RECOVERYREQ_BLOCK", "The system does not pass the minimum requirements to recover Windows."),
    0xC190020B: (
        "MOSETUP_E_COMPAT_RECOVERYREQ_CANCEL",
        "The user has chosen to cancel because the system does not pass the minimum requirements to recover Windows.",
    ),
    0xC190020C: (
        "MOSETUP_E_DOWNLOADDISKSPACE_BLOCK",
        "The system does not pass the disk space requirements to download the payload.",
    ),
    0xC190020D: (
        "MOSETUP_E_DOWNLOADDISKSPACE_CANCEL",
        "The user has chosen to cancel as the device does not have enough disk space to download.",
    ),
    0xC190020E: (
        "MOSETUP_E_INSTALLDISKSPACE_BLOCK",
        "The system does not pass the disk space requirements to install the payload.",
    ),
    0xC190020F: (
        "MOSETUP_E_INSTALLDISKSPACE_CANCEL",
        "The user has chosen to cancel as the device does not have enough disk space to install.",
    ),
    0xC1900210: (
        "MOSETUP_E_COMPAT_SCANONLY",
        "The user has used the setup.exe command line to do scanonly, not to install the OS.",
    ),
    0xC1900211: (
        "MOSETUP_E_DOWNLOAD_UNPACK_DISKSPACE_BLOCK",
        "The system does not pass the disk space requirements to download and unpack media.",
    ),
    0xC1900212: (
        "MOSETUP_E_DOWNLOAD_UNPACK_DISKSPACE_MULTIARCH_BLOCK",
        "The system does not pass the disk space requirements to download and unpack multi-architecture media.",
    ),
    0xC1900213: ("MOSETUP_E_NO_OFFER_FOUND", "There was no offer found that matches the required criteria."),
    0xC1900214: ("MOSETUP_E_UNSUPPORTED_VERSION", "This version of the tool is not supported."),
    0xC1900215: ("MOSETUP_E_NO_MATCHING_INSTALL_IMAGE", "Could not find an install image for this system."),
    0xC1900216: ("MOSETUP_E_ROLLBACK_PENDING", "Found pending OS rollback operation."),
    0xC1900220: (
        "MOSETUP_E_COMPAT_REPORT_NOT_DISPLAYED",
        "The compatibility report cannot be displayed due to a missing system component.",
    ),
    0xC1900400: ("MOSETUP_E_UA_VERSION_MISMATCH", "An unexpected version of Update Agent client was encountered."),
    0xC1900401: ("MOSETUP_E_UA_NO_PACKAGES_TO_DOWNLOAD", "No packages to be downloaded."),
    0xC1900402: ("MOSETUP_E_UA_UPDATE_CANNOT_BE_MERGED", "No packages to be downloaded."),
    0xC1900403: ("MOSETUP_E_UA_CORRUPT_PAYLOAD_FILES", "Payload files were corrupt."),
    0xC1900404: ("MOSETUP_E_UA_BOX_NOT_FOUND", "The installation executable was not found."),
    0xC1900405: ("MOSETUP_E_UA_BOX_CRASHED", "The installation process terminated unexpectedly."),
}

# An object-like `#define NAME BODY` (a function-like macro has "(" right after its name).
DEFINE = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)(?![\w(])\s*(.*)$")
TOKEN = re.compile(r"\s*(?:(0[xX][0-9A-Fa-f]+|\d+)[uUlL]*|([A-Za-z_]\w*)|([()+]))")
# The forms a value is written in: 5L, __MSABI_LONG(5), _HRESULT_TYPEDEF_(0x80004005L), ((HRESULT)0x00000000),
# ((NTSTATUS)0xC0000001L), (WSABASEERR + 4), another code's name (NO_ERROR), HRESULT_FROM_WIN32(ERROR_X).
WRAPPERS = ("_HRESULT_TYPEDEF_", "_NDIS_ERROR_TYPEDEF_", "__MSABI_LONG", "HRESULT_FROM_WIN32")
CASTS = ("HRESULT", "NTSTATUS", "SCODE", "DWORD", "LONG")
# names of a header's numbers that are not codes: facilities, severities, the ends of ranges (OLE_E_FIRST,
# DNS_ERROR_ZONE_BASE); STATUS_IMAGE_NOT_AT_BASE and STATUS_FREE_VM_NOT_AT_BASE are codes
NOT_CODES_PREFIX = ("FACILITY_", "SEVERITY_", "STATUS_SEVERITY_")
NOT_CODES_SUFFIX = ("_FIRST", "_LAST", "_BASE")


@dataclass(frozen=True)
class Define:
    name: str
    value: int  # 32 bits
    hresult: bool  # written as an HRESULT (_HRESULT_TYPEDEF_, (HRESULT), HRESULT_FROM_WIN32 or such a name)


def header_defines(name: str) -> list[Define]:
    """Every `#define NAME BODY` of a header whose BODY is a number, in the header's order."""
    found: dict[str, Define] = {}
    for line in (HEADERS / name).read_text(encoding="latin-1").splitlines():
        match = DEFINE.match(line)
        if not match:
            continue
        symbol, body = match.groups()
        body = re.sub(r"/\*.*?(\*/|$)|//.*", " ", body).strip()
        evaluated = _evaluate(body, found)
        if evaluated is not None and symbol not in found:
            found[symbol] = Define(symbol, evaluated[0] & 0xFFFFFFFF, evaluated[1])
    return list(found.values())


def _evaluate(body: str, known: dict[str, Define]) -> tuple[int, bool] | None:
    """(value, written as an HRESULT) of a define's body, or None when it is not a number (a macro, a guard)."""
    tokens: list[str] = []
    position = 0
    while position < len(body):
        token = TOKEN.match(body, position)
        if not token:
            return None
        tokens.append(token.group(token.lastindex or 0))
        position = token.end()
    if not tokens:
        return None
    hresult = False

    def term(at: int) -> tuple[int, int] | None:
        nonlocal hresult
        token = tokens[at] if at < len(tokens) else ""
        if token[:1].isdigit():  # C's literals: 0x hex, 0 octal, else decimal
            return int(token, 16 if token[:2] in ("0x", "0X") else 8 if token[:1] == "0" else 10), at + 1
        if token in WRAPPERS and tokens[at + 1 : at + 2] == ["("]:
            inner = expression(at + 2)
            if inner is None or tokens[inner[1] : inner[1] + 1] != [")"]:
                return None
            value = inner[0]
            if token == "HRESULT_FROM_WIN32" and value & 0xFFFFFFFF and not value & 0x80000000:
                value = 0x80070000 | (value & 0xFFFF)
            hresult = hresult or token in ("_HRESULT_TYPEDEF_", "HRESULT_FROM_WIN32")
            return value, inner[1] + 1
        if token in known:
            hresult = hresult or known[token].hresult
            return known[token].value, at + 1
        if token == "(" and tokens[at + 1 : at + 2] and tokens[at + 1] in CASTS and tokens[at + 2 : at + 3] == [")"]:
            hresult = hresult or tokens[at + 1] == "HRESULT"
            return term(at + 3)
        if token == "(":
            inner = expression(at + 1)
            if inner is None or tokens[inner[1] : inner[1] + 1] != [")"]:
                return None
            return inner[0], inner[1] + 1
        return None

    def expression(at: int) -> tuple[int, int] | None:
        left = term(at)
        while left is not None and tokens[left[1] : left[1] + 1] == ["+"]:
            right = term(left[1] + 1)
            left = None if right is None else (left[0] + right[0], right[1])
        return left

    whole = expression(0)
    if whole is None or whole[1] != len(tokens):
        return None
    return whole[0], hresult


def header_codes(name: str) -> dict[int, list[Define]]:
    """A header's codes by value, each value's names in the header's order (its first name is its primary one)."""
    codes: dict[int, list[Define]] = {}
    for define in header_defines(name):
        if define.name.startswith(NOT_CODES_PREFIX) or define.name.endswith(NOT_CODES_SUFFIX):
            if not define.name.endswith("_NOT_AT_BASE"):
                continue
        if not define.name[:1].isupper():  # include guards and such: _WINERROR_, __IN__WINERROR_
            continue
        codes.setdefault(define.value, []).append(define)
    return codes


def facilities() -> dict[int, str]:
    found = {}
    for line in (HEADERS / "winerror.h").read_text(encoding="latin-1").splitlines():
        match = re.match(r"#define\s+FACILITY_([A-Z0-9_]+)\s+(\d+)\s*$", line.strip())
        if match:
            found.setdefault(int(match.group(2)), match.group(1))
    return found


def wine_messages() -> dict[int, str]:
    pe = pefile.PE(str(KERNELBASE), fast_load=True)
    pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"]])
    messages: dict[int, str] = {}
    for resource_type in pe.DIRECTORY_ENTRY_RESOURCE.entries:
        if resource_type.id != RT_MESSAGETABLE:
            continue
        for name in resource_type.directory.entries:
            for language in name.directory.entries:
                if language.id not in (0x409, 0):  # English (United States), or neutral
                    continue
                data = pe.get_data(language.data.struct.OffsetToData, language.data.struct.Size)
                messages.update(_message_table(data))
    return messages


def _message_table(data: bytes) -> dict[int, str]:
    (blocks,) = struct.unpack_from("<I", data, 0)
    messages = {}
    for block in range(blocks):
        low, high, offset = struct.unpack_from("<III", data, 4 + block * 12)
        for ident in range(low, high + 1):
            length, flags = struct.unpack_from("<HH", data, offset)
            raw = data[offset + 4 : offset + length]
            text = raw.decode("utf-16-le" if flags & 1 else "latin-1").rstrip("\x00").strip()
            messages[ident] = " ".join(text.split())
            offset += length
    return messages


def main() -> None:
    messages = wine_messages()
    entries: dict[str, dict[str, object]] = {}
    aliases: dict[str, dict[str, str]] = {}

    def add(value: int, name: str, kind: str, message: str | None) -> None:
        """The first name of a value is its primary name; every later one is an alias, with the kind of
        code it names (S_FALSE is an HRESULT, STATUS_WAIT_1 an NTSTATUS: both are 1, as ERROR_INVALID_FUNCTION is)."""
        key = f"0x{value:08X}"
        if key not in entries:
            entries[key] = {"name": name, "kind": kind, "message": message or DOMAIN_MESSAGES.get(value)}
        elif name != entries[key]["name"]:
            aliases.setdefault(key, {}).setdefault(name, kind)
        if not entries[key]["message"]:  # wuerror.h names WU_E_* codes; UPDATE_CODES gives their text
            entries[key]["message"] = message

    for value, defines in sorted(header_codes("winerror.h").items()):
        for define in defines:
            if value < 0x10000 and not define.hresult:  # Win32 error code; its HRESULT form is 0x8007xxxx
                add(value, define.name, "win32", messages.get(value))
            else:  # an HRESULT, S_OK and S_FALSE too
                add(value, define.name, "hresult", messages.get(value))
        primary = entries[f"0x{value:08X}"]
        if value < 0x10000 and primary["kind"] == "win32":
            add(0x80070000 | value, f"HRESULT_FROM_WIN32({primary['name']})", "hresult", messages.get(value))
    for value, defines in sorted(header_codes("wuerror.h").items()):
        for define in defines:
            add(value, define.name, "hresult", messages.get(value))
    # before ntstatus.h: an SL_E_* or MOSETUP_E_* HRESULT has the two top bits set, like an NTSTATUS error
    for value, (name, message) in (DOMAIN_CODES | UPDATE_CODES | UPGRADE_CODES).items():
        known = entries.get(f"0x{value:08X}")
        if known and name != known["name"] and name not in aliases.get(f"0x{value:08X}", {}):
            raise SystemExit(f"0x{value:08X}: the headers name it {known['name']}, the table {name}: fix the table")
        add(value, name, "hresult", message)
    for value, defines in sorted(header_codes("slerror.h").items()):
        for define in defines:
            add(value, define.name, "hresult", messages.get(value))
    for value, defines in sorted(header_codes("ntstatus.h").items()):
        for define in defines:
            add(value, define.name, "ntstatus", messages.get(value))
    for key, names in aliases.items():
        entries[key]["aliases"] = names
    OUT.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "sources": [
            "mingw-w64-common: winerror.h, wuerror.h, slerror.h, ntstatus.h (names, values)",
            "libwine: kernelbase.dll RT_MESSAGETABLE (messages; Wine, LGPL-2.1)",
            "scripts/gen_errorcodes.py DOMAIN_CODES (CBS_E_* and SL_E_*, Microsoft documentation named there)",
            "scripts/gen_errorcodes.py UPDATE_CODES and UPGRADE_CODES (WU_E_* texts and MOSETUP_E_* codes, "
            "Microsoft's Windows Update and Windows upgrade error pages named there)",
        ],
        "facilities": {str(k): v for k, v in sorted(facilities().items())},
        "codes": dict(sorted(entries.items())),
    }
    OUT.write_text(json.dumps(document, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    with_text = sum(1 for e in entries.values() if e["message"])
    further = sum(map(len, aliases.values()))
    print(f"{OUT}: {len(entries)} codes, {with_text} with a message, {further} further names of {len(aliases)} of them")


if __name__ == "__main__":
    main()
