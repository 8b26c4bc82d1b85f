# Install labctl on Windows from a GitHub release: no administrator rights, into
# %LOCALAPPDATA%\Programs\labctl, checksum verified, added to the user's PATH.
#
#   powershell -ExecutionPolicy Bypass -c "irm https://github.com/<owner>/<repo>/releases/latest/download/install.ps1 | iex"
#
# Settings, all optional: $env:LABCTL_VERSION (a tag such as v0.2.0), $env:LABCTL_INSTALL_DIR,
# $env:LABCTL_DOWNLOAD_URL (folder holding the release files). The release workflow writes the
# repository into $Repo when it publishes the script.
$ErrorActionPreference = 'Stop'
$Repo = if ($env:LABCTL_REPO) { $env:LABCTL_REPO } else { '__LABCTL_REPO__' }

$arch = $env:PROCESSOR_ARCHITECTURE
if ($arch -ne 'AMD64') {
    throw "labctl-install: no Windows build for $arch; use WSL, or: cargo install --locked --git https://github.com/$Repo"
}
$target = 'x86_64-pc-windows-msvc'
$base = if ($env:LABCTL_DOWNLOAD_URL) { $env:LABCTL_DOWNLOAD_URL }
        elseif ($env:LABCTL_VERSION) { "https://github.com/$Repo/releases/download/$($env:LABCTL_VERSION)" }
        else { "https://github.com/$Repo/releases/latest/download" }
$dir = if ($env:LABCTL_INSTALL_DIR) { $env:LABCTL_INSTALL_DIR } else { Join-Path $env:LOCALAPPDATA 'Programs\labctl' }
$archive = "labctl-$target.zip"
$tmp = Join-Path ([System.IO.Path]::GetTempPath()) ("labctl-" + [System.Guid]::NewGuid())
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
    Write-Host "labctl-install: downloading $base/$archive"
    Invoke-WebRequest -UseBasicParsing -Uri "$base/$archive" -OutFile (Join-Path $tmp $archive)
    Invoke-WebRequest -UseBasicParsing -Uri "$base/$archive.sha256" -OutFile (Join-Path $tmp "$archive.sha256")
    $want = ((Get-Content (Join-Path $tmp "$archive.sha256") -Raw).Trim() -split '\s+')[0].ToLower()
    $got = (Get-FileHash -Algorithm SHA256 (Join-Path $tmp $archive)).Hash.ToLower()
    if (-not $want -or $want -ne $got) {
        throw "labctl-install: checksum mismatch for $archive (expected $want, got $got): nothing was installed"
    }
    Expand-Archive -Path (Join-Path $tmp $archive) -DestinationPath $tmp -Force
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
    Copy-Item (Join-Path $tmp 'labctl.exe') (Join-Path $dir 'labctl.exe') -Force
    $version = & (Join-Path $dir 'labctl.exe') --version
    Write-Host "labctl-install: installed $version into $dir"
    $userPath = [Environment]::GetEnvironmentVariable('Path', 'User')
    if (-not (($userPath -split ';') -contains $dir)) {
        [Environment]::SetEnvironmentVariable('Path', "$dir;$userPath", 'User')
        Write-Host "labctl-install: added $dir to your PATH; open a new terminal to use labctl"
    }
} finally {
    Remove-Item -Recurse -Force $tmp -ErrorAction SilentlyContinue
}
