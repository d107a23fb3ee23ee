# shellcheck shell=bash
# devstack plugin of cloudkitty: installs, configures and runs the rating
# service (ck-api, ck-proc) next to the rest of the cloud.
#
# local.conf:
#
#     [[local|localrc]]
#     enable_plugin cloudkitty <git URL of this repository>
#     # optional, see devstack/settings for every variable:
#     CLOUDKITTY_FETCHER=keystone
#     CLOUDKITTY_COLLECTOR=prometheus
#
# Phases: "stack install" installs cloudkitty and the client (and the
# dashboard with horizon); "stack post-config" writes the configuration and
# creates the Keystone accounts; "stack extra" creates the database schema
# and starts the services; "unstack" stops them; "clean" removes what the
# plugin left on disk.
#
# The helpers called here (iniset, run_process, get_or_create_*, ...) and
# the variables in capitals that settings does not define (DEST,
# SERVICE_PASSWORD, REGION_NAME, ...) come from devstack.

# Save and silence xtrace: configuration lines carry passwords.
_XTRACE_CLOUDKITTY=$(set +o | grep xtrace)
set +o xtrace

CLOUDKITTY_BIN_DIR=${CLOUDKITTY_BIN_DIR:-$(get_python_exec_prefix)}

# cloudkitty_url - the endpoint registered in the catalog (no path: the API
# serves / with the version list, /v1 and /v2)
function cloudkitty_url {
    echo "$CLOUDKITTY_SERVICE_PROTOCOL://$CLOUDKITTY_SERVICE_HOSTPORT"
}

# install_cloudkitty - install the service from $CLOUDKITTY_DIR
function install_cloudkitty {
    git_clone "$CLOUDKITTY_REPO" "$CLOUDKITTY_DIR" "$CLOUDKITTY_BRANCH"
    setup_develop "$CLOUDKITTY_DIR"
    if [[ "$CLOUDKITTY_USE_UWSGI" == "True" ]]; then
        pip_install uwsgi
    fi
}

# install_python_cloudkittyclient - the "cloudkitty" and "openstack rating"
# commands: from git when listed in LIBS_FROM_GIT, else from PyPI
function install_python_cloudkittyclient {
    if use_library_from_git "python-cloudkittyclient"; then
        git_clone_by_name "python-cloudkittyclient"
        setup_dev_lib "python-cloudkittyclient"
    else
        pip_install python-cloudkittyclient
    fi
}

# install_cloudkitty_dashboard - the horizon panels
function install_cloudkitty_dashboard {
    git_clone_by_name "cloudkitty-dashboard"
    setup_dev_lib "cloudkitty-dashboard"
}

# configure_cloudkitty_fetcher - [fetcher] and the section of the chosen
# backend
function configure_cloudkitty_fetcher {
    iniset "$CLOUDKITTY_CONF" fetcher backend "$CLOUDKITTY_FETCHER"
    case "$CLOUDKITTY_FETCHER" in
        keystone)
            iniset "$CLOUDKITTY_CONF" fetcher_keystone auth_section authinfos
            iniset "$CLOUDKITTY_CONF" fetcher_keystone keystone_version 3
            ;;
        gnocchi)
            iniset "$CLOUDKITTY_CONF" fetcher_gnocchi auth_section authinfos
            iniset "$CLOUDKITTY_CONF" fetcher_gnocchi region_name "$REGION_NAME"
            # devstack registers public endpoints only.
            iniset "$CLOUDKITTY_CONF" fetcher_gnocchi interface public
            ;;
        prometheus)
            iniset "$CLOUDKITTY_CONF" fetcher_prometheus metric "$CLOUDKITTY_FETCHER_METRIC"
            iniset "$CLOUDKITTY_CONF" fetcher_prometheus scope_attribute "$CLOUDKITTY_FETCHER_SCOPE_ATTRIBUTE"
            iniset "$CLOUDKITTY_CONF" fetcher_prometheus prometheus_url "$CLOUDKITTY_PROMETHEUS_URL"
            ;;
        source)
            iniset "$CLOUDKITTY_CONF" fetcher_source sources "$CLOUDKITTY_FETCHER_SOURCES"
            ;;
        *)
            die $LINENO "CLOUDKITTY_FETCHER=$CLOUDKITTY_FETCHER: expected keystone, gnocchi, prometheus or source"
            ;;
    esac
}

# configure_cloudkitty_collector - [collect] and the section of the chosen
# collector
function configure_cloudkitty_collector {
    iniset "$CLOUDKITTY_CONF" collect collector "$CLOUDKITTY_COLLECTOR"
    iniset "$CLOUDKITTY_CONF" collect metrics_conf "$CLOUDKITTY_CONF_DIR/metrics.yml"
    # Rate a period as soon as it is over: a developer wants to see prices
    # now, not two periods later (the production default).
    iniset "$CLOUDKITTY_CONF" collect wait_periods 0
    case "$CLOUDKITTY_COLLECTOR" in
        gnocchi)
            iniset "$CLOUDKITTY_CONF" collect scope_key project_id
            iniset "$CLOUDKITTY_CONF" collector_gnocchi auth_section authinfos
            iniset "$CLOUDKITTY_CONF" collector_gnocchi region_name "$REGION_NAME"
            iniset "$CLOUDKITTY_CONF" collector_gnocchi interface public
            ;;
        prometheus)
            # The OpenStack exporter labels its series with tenant_id.
            iniset "$CLOUDKITTY_CONF" collect scope_key tenant_id
            iniset "$CLOUDKITTY_CONF" collector_prometheus prometheus_url "$CLOUDKITTY_PROMETHEUS_URL"
            ;;
        file)
            iniset "$CLOUDKITTY_CONF" collect scope_key project_id
            iniset "$CLOUDKITTY_CONF" collector_file paths "$CLOUDKITTY_FILE_COLLECTOR_PATHS"
            ;;
        *)
            die $LINENO "CLOUDKITTY_COLLECTOR=$CLOUDKITTY_COLLECTOR: expected gnocchi, prometheus or file"
            ;;
    esac
}

# configure_cloudkitty_api - how ck-api listens: the console script reads
# [api] host/port, uWSGI its own ini file (same address and port)
function configure_cloudkitty_api {
    iniset "$CLOUDKITTY_CONF" api host "$CLOUDKITTY_SERVICE_LISTEN_ADDRESS"
    iniset "$CLOUDKITTY_CONF" api port "$CLOUDKITTY_SERVICE_PORT"
    if [[ "$CLOUDKITTY_USE_UWSGI" != "True" ]]; then
        return
    fi
    rm -f "$CLOUDKITTY_UWSGI_CONF"
    iniset "$CLOUDKITTY_UWSGI_CONF" uwsgi module cloudkitty.wsgi.api:application
    iniset "$CLOUDKITTY_UWSGI_CONF" uwsgi http-socket "$CLOUDKITTY_SERVICE_LISTEN_ADDRESS:$CLOUDKITTY_SERVICE_PORT"
    iniset "$CLOUDKITTY_UWSGI_CONF" uwsgi env "CLOUDKITTY_CONFIG_FILES=$CLOUDKITTY_CONF"
    iniset "$CLOUDKITTY_UWSGI_CONF" uwsgi processes "${API_WORKERS:-2}"
    iniset "$CLOUDKITTY_UWSGI_CONF" uwsgi threads 4
    iniset "$CLOUDKITTY_UWSGI_CONF" uwsgi master true
    iniset "$CLOUDKITTY_UWSGI_CONF" uwsgi enable-threads true
    # Each worker builds the application (and its database pool) itself.
    iniset "$CLOUDKITTY_UWSGI_CONF" uwsgi lazy-apps true
    iniset "$CLOUDKITTY_UWSGI_CONF" uwsgi die-on-term true
    iniset "$CLOUDKITTY_UWSGI_CONF" uwsgi buffer-size 65535
}

# configure_cloudkitty - write $CLOUDKITTY_CONF and the files next to it
function configure_cloudkitty {
    local dir
    for dir in "$CLOUDKITTY_CONF_DIR" "$CLOUDKITTY_API_LOG_DIR" "$CLOUDKITTY_DATA_DIR" \
        "$CLOUDKITTY_DATA_DIR/locks"; do
        sudo install -d -o "$STACK_USER" -m 755 "$dir"
    done

    # Files the services read besides cloudkitty.conf.
    cp "$CLOUDKITTY_DIR/etc/cloudkitty/api_paste.ini" "$CLOUDKITTY_CONF_DIR/api_paste.ini"
    if [[ ! -f "$CLOUDKITTY_METRICS_CONF" ]]; then
        die $LINENO "CLOUDKITTY_METRICS_CONF=$CLOUDKITTY_METRICS_CONF: no such file"
    fi
    cp "$CLOUDKITTY_METRICS_CONF" "$CLOUDKITTY_CONF_DIR/metrics.yml"
    "$CLOUDKITTY_BIN_DIR/oslopolicy-sample-generator" --namespace cloudkitty \
        --output-file "$CLOUDKITTY_CONF_DIR/policy.yaml"

    # Start from an empty file: every option below is set on purpose, and
    # local.conf [[post-config|$CLOUDKITTY_CONF]] sections are merged after.
    rm -f "$CLOUDKITTY_CONF"
    iniset "$CLOUDKITTY_CONF" DEFAULT debug "$ENABLE_DEBUG_LOG_LEVEL"
    iniset "$CLOUDKITTY_CONF" DEFAULT auth_strategy "$CLOUDKITTY_AUTH_STRATEGY"
    iniset "$CLOUDKITTY_CONF" DEFAULT transport_url "$(get_transport_url)"
    iniset "$CLOUDKITTY_CONF" DEFAULT api_paste_config "$CLOUDKITTY_CONF_DIR/api_paste.ini"
    iniset "$CLOUDKITTY_CONF" oslo_policy policy_file "$CLOUDKITTY_CONF_DIR/policy.yaml"
    iniset "$CLOUDKITTY_CONF" database connection "$(database_connection_url cloudkitty)"

    if [[ "$CLOUDKITTY_AUTH_STRATEGY" == "keystone" ]]; then
        configure_keystone_authtoken_middleware "$CLOUDKITTY_CONF" cloudkitty
    fi

    # The credentials the fetchers and collectors use to call Keystone and
    # Gnocchi; their sections point here with auth_section = authinfos.
    iniset "$CLOUDKITTY_CONF" authinfos auth_type password
    iniset "$CLOUDKITTY_CONF" authinfos auth_url "$KEYSTONE_SERVICE_URI"
    iniset "$CLOUDKITTY_CONF" authinfos username cloudkitty
    iniset "$CLOUDKITTY_CONF" authinfos password "$SERVICE_PASSWORD"
    iniset "$CLOUDKITTY_CONF" authinfos project_name "$SERVICE_PROJECT_NAME"
    iniset "$CLOUDKITTY_CONF" authinfos user_domain_name "$SERVICE_DOMAIN_NAME"
    iniset "$CLOUDKITTY_CONF" authinfos project_domain_name "$SERVICE_DOMAIN_NAME"

    configure_cloudkitty_fetcher
    configure_cloudkitty_collector

    iniset "$CLOUDKITTY_CONF" storage backend "$CLOUDKITTY_STORAGE_BACKEND"
    iniset "$CLOUDKITTY_CONF" storage version "$CLOUDKITTY_STORAGE_VERSION"
    iniset "$CLOUDKITTY_CONF" orchestrator coordination_url "$CLOUDKITTY_COORDINATION_URL"

    configure_cloudkitty_api
}

# create_cloudkitty_accounts - Keystone user, service, endpoint and roles
#
#   project                       user        role
#   $SERVICE_PROJECT_NAME         cloudkitty  admin
#   $CLOUDKITTY_PRICING_TENANT    cloudkitty  rating (the keystone fetcher
#                                             rates the projects where its
#                                             user has this role)
function create_cloudkitty_accounts {
    get_or_create_user cloudkitty "$SERVICE_PASSWORD" "$SERVICE_DOMAIN_NAME"
    get_or_add_user_project_role admin cloudkitty "$SERVICE_PROJECT_NAME" \
        "$SERVICE_DOMAIN_NAME" "$SERVICE_DOMAIN_NAME"

    local service
    service=$(get_or_create_service cloudkitty rating "OpenStack Rating")
    get_or_create_endpoint "$service" "$REGION_NAME" "$(cloudkitty_url)"

    get_or_create_role rating
    get_or_add_user_project_role rating cloudkitty "$CLOUDKITTY_PRICING_TENANT"
}

# configure_cloudkitty_dashboard - enable the panels; horizon collects and
# compresses static files after the post-config phase (init_horizon)
function configure_cloudkitty_dashboard {
    local panel
    for panel in "$CLOUDKITTY_ENABLED_DIR"/_[0-9]*.py; do
        [[ -e "$panel" ]] || continue
        ln -sf "$panel" "$CLOUDKITTY_HORIZON_ENABLED_DIR/"
    done
}

# init_cloudkitty - an empty database with the current schema
function init_cloudkitty {
    recreate_database cloudkitty
    "$CLOUDKITTY_BIN_DIR/cloudkitty-dbsync" --config-file "$CLOUDKITTY_CONF" upgrade
    # The rated-data tables are in the same schema; storage-init checks the
    # configured storage backend is usable.
    "$CLOUDKITTY_BIN_DIR/cloudkitty-storage-init" --config-file "$CLOUDKITTY_CONF"
}

# start_cloudkitty - ck-api, then ck-proc once the API answers
function start_cloudkitty {
    if [[ "$CLOUDKITTY_USE_UWSGI" == "True" ]]; then
        run_process ck-api "$CLOUDKITTY_BIN_DIR/uwsgi --procname-prefix ck-api --ini $CLOUDKITTY_UWSGI_CONF"
    else
        run_process ck-api "$CLOUDKITTY_BIN_DIR/cloudkitty-api --config-file $CLOUDKITTY_CONF"
    fi
    if is_service_enabled ck-api; then
        echo "Waiting for ck-api to answer on $(cloudkitty_url)/ ..."
        if ! wait_for_service "$SERVICE_TIMEOUT" "$(cloudkitty_url)/"; then
            die $LINENO "ck-api did not start"
        fi
    fi
    run_process ck-proc "$CLOUDKITTY_BIN_DIR/cloudkitty-processor --config-file $CLOUDKITTY_CONF"
}

# stop_cloudkitty - stop ck-api and ck-proc
function stop_cloudkitty {
    local service
    for service in ck-api ck-proc; do
        stop_process "$service"
    done
}

# cleanup_cloudkitty - remove configuration, data, logs and dashboard links
function cleanup_cloudkitty {
    sudo rm -rf "$CLOUDKITTY_CONF_DIR" "$CLOUDKITTY_DATA_DIR" "$CLOUDKITTY_API_LOG_DIR"
    local panel
    for panel in "$CLOUDKITTY_ENABLED_DIR"/_[0-9]*.py; do
        [[ -e "$panel" ]] || continue
        rm -f "$CLOUDKITTY_HORIZON_ENABLED_DIR/$(basename "$panel")"
    done
}

if is_service_enabled ck-api ck-proc; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing cloudkitty"
        install_cloudkitty
        install_python_cloudkittyclient
        if is_service_enabled horizon; then
            install_cloudkitty_dashboard
        fi
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring cloudkitty"
        configure_cloudkitty
        if is_service_enabled keystone; then
            create_cloudkitty_accounts
        fi
        if is_service_enabled horizon; then
            configure_cloudkitty_dashboard
        fi
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "Initializing and starting cloudkitty"
        init_cloudkitty
        start_cloudkitty
    fi

    if [[ "$1" == "unstack" ]]; then
        stop_cloudkitty
    fi

    if [[ "$1" == "clean" ]]; then
        cleanup_cloudkitty
    fi
fi

# Restore xtrace
$_XTRACE_CLOUDKITTY
