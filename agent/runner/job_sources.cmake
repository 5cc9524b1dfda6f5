# The agent's job runner: runs one stage's steps (or the pipeline's post
# section) with the process and spool layer of runner_sources.cmake. Links
# gantry_pipelines; uses no library beyond it.
set(GANTRY_AGENT_RUNNER_JOB_SOURCES
    job_runner.cpp
    job_control.cpp
    step_runner.cpp
    steps_control.cpp
    steps_script.cpp
    script_engine.cpp
    steps_files.cpp
    steps_utility.cpp
    steps_utility_json.cpp
    steps_utility_yaml.cpp
    steps_utility_text.cpp
    steps_scm.cpp
    steps_ssh.cpp
    steps_coordination.cpp
    steps_build.cpp
    workspace_clean.cpp
    steps_stash.cpp
    steps_container.cpp
    container_engine.cpp
    steps_input.cpp
    steps_notify.cpp
    steps_analysis.cpp
    mann_whitney.cpp
    junit.cpp
    steps_reports.cpp
    issues_xml.cpp
    issues_json.cpp
    ant_glob.cpp)
