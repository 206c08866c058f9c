output "proxy_addresses" {
  description = "Node proxy gRPC addresses by region (voters list all of them, their own region first)."
  value = {
    (var.regions[0].name) = module.region_a.proxy_addresses
    (var.regions[1].name) = module.region_b.proxy_addresses
    (var.regions[2].name) = module.region_c.proxy_addresses
  }
}

output "vspd_wallet_hosts" {
  description = "vspd's wallethost list: every region's admin wallet endpoint."
  value = concat(
    module.region_a.admin_wallet_hosts,
    module.region_b.admin_wallet_hosts,
    module.region_c.admin_wallet_hosts,
  )
}

output "etcd_endpoints" {
  description = "etcd client URLs of every member."
  value = concat(
    module.region_a.etcd_client_urls,
    module.region_b.etcd_client_urls,
    module.region_c.etcd_client_urls,
  )
}

output "voter_addresses" {
  description = "Private IPs of the voters, by region (Prometheus scrape targets)."
  value = {
    (var.regions[0].name) = module.region_a.voter_private_ips
    (var.regions[1].name) = module.region_b.voter_private_ips
    (var.regions[2].name) = module.region_c.voter_private_ips
  }
}
