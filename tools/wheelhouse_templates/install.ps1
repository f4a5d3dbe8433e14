# Installs chi-lite from this folder, offline, into a new virtual environment (default: .\venv).
# Nothing is downloaded: pip reads only wheels\ and checks each wheel's SHA-256 against requirements.txt.
#   powershell -ExecutionPolicy Bypass -File install.ps1 [-Venv C:\path\to\new-venv]
param([string]$Venv = (Join-Path $PSScriptRoot "venv"))
$ErrorActionPreference = "Stop"
$want = "@PYTHON@"

function Fail([string]$message) {
    Write-Host "error: $message" -ForegroundColor Red
    exit 2
}

# The Python launcher (py -3.x) picks the right version when several are installed.
if ($env:PYTHON) { $python = @($env:PYTHON) }
elseif (Get-Command py -ErrorAction SilentlyContinue) { $python = @("py", "-$want") }
elseif (Get-Command python -ErrorAction SilentlyContinue) { $python = @("python") }
else { Fail "no Python found; install Python $want from python.org, or set PYTHON to python.exe" }
$exe = $python[0]
$pyArgs = @($python | Select-Object -Skip 1)

$have = & $exe @pyArgs -c "import sys; print('%d.%d' % sys.version_info[:2])"
if ($LASTEXITCODE -ne 0) { Fail "cannot run $($python -join ' '); install Python $want, or set PYTHON to python.exe" }
if ($have -ne $want) { Fail "this bundle is for Python $want but $($python -join ' ') is Python $have; install Python $want" }
if (Test-Path $Venv) { Fail "$Venv already exists; remove it or name a new folder: install.ps1 -Venv C:\path\to\new-venv" }

& $exe @pyArgs -m venv $Venv
if ($LASTEXITCODE -ne 0) { Fail "could not create the virtual environment $Venv" }
$venvPython = Join-Path $Venv "Scripts\python.exe"
& $venvPython -m pip --isolated install --quiet --disable-pip-version-check --no-index `
    --find-links (Join-Path $PSScriptRoot "wheels") --only-binary=:all: --require-hashes `
    -r (Join-Path $PSScriptRoot "requirements.txt")
if ($LASTEXITCODE -ne 0) { Fail "pip could not install from this folder (see the message above)" }
Write-Host "chi-lite is installed. Run it with: $(Join-Path $Venv 'Scripts\chi-lite.exe') --help"
