//! Diesel's view of the tables in `migrations/`. Kept by hand; a test checks it against the
//! migrated database.

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        display_name -> Text,
        password_hash -> Text,
        totp_secret_enc -> Nullable<Text>,
        totp_last_step -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> Nullable<BigInt>,
        state -> Text,
        user_agent -> Text,
        ip -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    workspaces (id) {
        id -> BigInt,
        owner_user_id -> BigInt,
        name -> Text,
        color -> Text,
        time_zone -> Text,
        postal_address -> Text,
        requires_approval -> Bool,
        help_text -> Text,
        archived_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    workspace_approvers (workspace_id, user_id) {
        workspace_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        user_id -> BigInt,
        label -> Text,
        prefix -> Text,
        key_hash -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_kind -> Text,
        actor_user_id -> Nullable<BigInt>,
        actor_api_key_id -> Nullable<BigInt>,
        actor_detail -> Nullable<Text>,
        owner_user_id -> Nullable<BigInt>,
        workspace_id -> Nullable<BigInt>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Nullable<Text>,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
        ip -> Nullable<Text>,
    }
}

diesel::table! {
    custom_fields (id) {
        id -> BigInt,
        owner_user_id -> BigInt,
        workspace_id -> Nullable<BigInt>,
        name -> Text,
        label -> Text,
        field_type -> Text,
        required -> Bool,
        default_value -> Nullable<Text>,
        position -> BigInt,
        transaction_related -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    lists (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        kind -> Text,
        name -> Text,
        position -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    contacts (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        created_on -> Timestamp,
        first_name -> Text,
        last_name -> Text,
        primary_email -> Nullable<Text>,
        email_key -> Nullable<Text>,
        primary_phone -> Nullable<Text>,
        company -> Text,
        primary_list_id -> BigInt,
        primary_list_kind -> Text,
        last_contacted_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        do_not_contact -> Bool,
    }
}

diesel::table! {
    contact_tags (contact_id, list_id) {
        contact_id -> BigInt,
        list_id -> BigInt,
        workspace_id -> BigInt,
        list_kind -> Text,
    }
}

diesel::table! {
    contact_values (contact_id, field_id) {
        contact_id -> BigInt,
        field_id -> BigInt,
        value_text -> Text,
        value_number -> Nullable<Double>,
        value_date -> Nullable<Text>,
    }
}

diesel::table! {
    contact_log (id) {
        id -> BigInt,
        contact_id -> BigInt,
        kind -> Text,
        summary -> Text,
        body -> Text,
        meta_json -> Nullable<Text>,
        occurred_at -> Timestamp,
        actor_user_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    contact_shares (id) {
        id -> BigInt,
        contact_id -> BigInt,
        owner_user_id -> BigInt,
        recipient_user_id -> BigInt,
        include_log -> Bool,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    backups (id) {
        id -> BigInt,
        started_at -> Timestamp,
        finished_at -> Timestamp,
        trigger -> Text,
        outcome -> Text,
        file_name -> Nullable<Text>,
        size_bytes -> Nullable<BigInt>,
        duration_ms -> BigInt,
        row_counts -> Nullable<Text>,
        error -> Nullable<Text>,
        copies -> Nullable<Text>,
    }
}

diesel::table! {
    imports (id) {
        id -> BigInt,
        owner_user_id -> BigInt,
        workspace_id -> BigInt,
        file_name -> Text,
        status -> Text,
        dry_run -> Bool,
        settings -> Text,
        total_rows -> BigInt,
        processed_rows -> BigInt,
        created_count -> BigInt,
        updated_count -> BigInt,
        failed_count -> BigInt,
        cancel_requested -> Bool,
        error -> Nullable<Text>,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    import_changes (import_id, contact_id) {
        import_id -> BigInt,
        contact_id -> BigInt,
        kind -> Text,
        before_json -> Nullable<Text>,
    }
}

diesel::table! {
    import_failures (import_id, row_number) {
        import_id -> BigInt,
        row_number -> BigInt,
        reason -> Text,
        cells -> Text,
    }
}

diesel::table! {
    workspace_email_providers (workspace_id) {
        workspace_id -> BigInt,
        kind -> Text,
        config -> Text,
        secrets_enc -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_sms_providers (user_id) {
        user_id -> BigInt,
        kind -> Text,
        config -> Text,
        secrets_enc -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        contact_id -> BigInt,
        channel -> Text,
        dedupe_key -> Text,
        recipient -> Text,
        marketing -> Bool,
        status -> Text,
        provider -> Nullable<Text>,
        provider_message_id -> Nullable<Text>,
        attempts -> BigInt,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    message_contents (message_id) {
        message_id -> BigInt,
        created_by_user_id -> Nullable<BigInt>,
        subject -> Text,
        body_text -> Text,
        body_html -> Nullable<Text>,
        rfc_message_id -> Nullable<Text>,
        headers -> Text,
    }
}

diesel::table! {
    message_events (id) {
        id -> BigInt,
        message_id -> BigInt,
        kind -> Text,
        detail -> Text,
        occurred_at -> Timestamp,
    }
}

diesel::table! {
    webhook_receipts (provider, event_id) {
        provider -> Text,
        event_id -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    suppressions (workspace_id, channel, address) {
        workspace_id -> BigInt,
        channel -> Text,
        address -> Text,
        reason -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    inbound_messages (id) {
        id -> BigInt,
        user_id -> BigInt,
        workspace_id -> Nullable<BigInt>,
        contact_id -> Nullable<BigInt>,
        channel -> Text,
        provider_message_id -> Text,
        sender -> Text,
        recipient -> Text,
        body -> Text,
        received_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    send_pauses (workspace_id) {
        workspace_id -> BigInt,
        paused_at -> Timestamp,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(workspaces -> users (owner_user_id));
diesel::joinable!(workspace_approvers -> workspaces (workspace_id));
diesel::joinable!(workspace_approvers -> users (user_id));
diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(custom_fields -> users (owner_user_id));
diesel::joinable!(lists -> workspaces (workspace_id));
diesel::joinable!(contacts -> workspaces (workspace_id));
diesel::joinable!(contacts -> lists (primary_list_id));
diesel::joinable!(contact_tags -> contacts (contact_id));
diesel::joinable!(contact_tags -> lists (list_id));
diesel::joinable!(contact_values -> contacts (contact_id));
diesel::joinable!(contact_values -> custom_fields (field_id));
diesel::joinable!(contact_log -> contacts (contact_id));
diesel::joinable!(contact_shares -> contacts (contact_id));
diesel::joinable!(imports -> workspaces (workspace_id));
diesel::joinable!(import_changes -> imports (import_id));
diesel::joinable!(import_failures -> imports (import_id));
diesel::joinable!(workspace_email_providers -> workspaces (workspace_id));
diesel::joinable!(messages -> workspaces (workspace_id));
diesel::joinable!(messages -> contacts (contact_id));
diesel::joinable!(message_events -> messages (message_id));
diesel::joinable!(message_contents -> messages (message_id));
diesel::joinable!(suppressions -> workspaces (workspace_id));
diesel::joinable!(send_pauses -> workspaces (workspace_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    workspaces,
    workspace_approvers,
    api_keys,
    audit_log,
    custom_fields,
    lists,
    contacts,
    contact_tags,
    contact_values,
    contact_log,
    contact_shares,
    backups,
    imports,
    import_changes,
    import_failures,
    workspace_email_providers,
    user_sms_providers,
    messages,
    message_contents,
    message_events,
    webhook_receipts,
    suppressions,
    send_pauses,
    inbound_messages,
);
