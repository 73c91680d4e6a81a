/** @odoo-module **/
import { registry } from "@web/core/registry";

// Part 1: an officer creates a batch from registrants, confirms it and runs it.
// The test then performs the queued jobs (as the job runner would) before part 2.
registry.category("web_tour.tours").add("g2p_payment_batch_create_tour", {
    url: "/odoo",
    steps: () => [
        {
            content: "Open the apps menu",
            trigger: ".o_navbar_apps_menu button",
            run: "click",
        },
        {
            content: "Open G2P Payments",
            trigger: '.o_app[data-menu-xmlid="g2p_payment_batch.g2p_payments_menu"]',
            run: "click",
        },
        {
            content: "New batch",
            trigger: ".o_control_panel_main_buttons .o_list_button_add",
            run: "click",
        },
        {
            content: "Program",
            trigger: 'div[name="program_name"] input',
            run: "edit Tour Program",
        },
        {
            content: "Bank connector",
            trigger: 'div[name="connector_id"] input',
            run: "edit Tour bank",
        },
        {
            trigger: '.ui-menu-item a:contains("Tour bank")',
            run: "click",
        },
        {
            content: "Funding account",
            trigger: 'div[name="funding_account_number"] input',
            run: "edit T-TOUR-FUND",
        },
        {
            content: "Currency",
            trigger: 'div[name="currency_id"] input',
            run: "edit KES",
        },
        {
            trigger: '.ui-menu-item a:contains("KES")',
            run: "click",
        },
        {
            content: "Save",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Add registrants",
            trigger: '.o_form_saved button:contains("Add registrants")',
            run: "click",
        },
        {
            content: "Amount for each registrant",
            trigger: '.modal div[name="amount"] input',
            run: "edit 125.50",
        },
        {
            trigger: '.modal div[name="match_count"]:contains("5")',
        },
        {
            content: "Add them",
            trigger: '.modal button[name="action_add"]',
            run: "click",
        },
        {
            content: "Confirm the batch",
            trigger: 'div[name="payment_count"]:contains("5")',
        },
        {
            trigger: 'button[name="action_confirm"]',
            run: "click",
        },
        {
            content: "Run all steps",
            trigger: 'button[name="action_run"]',
            run: "click",
        },
        {
            content: "A step is running",
            trigger: '.alert-info:contains("A step is running")',
        },
    ],
});

// Part 2: the officer sees the outcome.
registry.category("web_tour.tours").add("g2p_payment_batch_result_tour", {
    url: "/odoo/action-g2p_payment_batch.g2p_payment_batch_action",
    steps: () => [
        {
            content: "Totals in the list",
            trigger:
                '.o_data_row:contains("Tour Program") td[name="paid_count"]:contains("4")',
        },
        {
            trigger: '.o_data_row:contains("Tour Program") td[name="name"]',
            run: "click",
        },
        {
            content: "Reconciled",
            trigger:
                '.o_statusbar_status button[aria-checked="true"]:contains("Reconciled")',
        },
        {
            content: "Paid count",
            trigger: 'div[name="paid_count"]:contains("4")',
        },
        {
            content: "Failed count",
            trigger: 'div[name="failed_count"]:contains("1")',
        },
        {
            content: "Open the payments",
            trigger: 'button[name="action_view_payments"]',
            run: "click",
        },
        {
            content: "The failed payment shows its reason",
            trigger: '.o_data_row:contains("ACCOUNT_DECEASED")',
        },
    ],
});
