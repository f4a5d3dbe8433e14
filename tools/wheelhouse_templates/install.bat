@echo off
rem Double-click to install chi-lite offline into .\venv (runs install.ps1 beside this file).
powershell -NoProfile -ExecutionPolicy Bypass -File "%~dp0install.ps1" %*
set status=%ERRORLEVEL%
pause
exit /b %status%
